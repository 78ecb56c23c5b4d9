import { zodResolver } from '@hookform/resolvers/zod'
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useId, useState } from 'react'
import { useForm } from 'react-hook-form'
import { z } from 'zod'
import { Button, Dialog, TextField } from '@/components'
import { apiFetch } from '@/lib/api'
import { formatDate, t, type MessageKey } from '@/lib/i18n'
import { errorText, keys, type CustomerMatch, type CustomersPage as Page, type DataRequest, type DataRequestDone, type DataRequestsPage } from './api'
import { download } from './download'
import { Alert, ConfirmDialog, FIELD, ListTable, LoadMore, Notice, TD } from './parts'
import { reportRows } from './report'

const kindKey = (kind: string) => `admin.kind.${kind}` as MessageKey
const stateKey = (state: string) => `admin.state.${state}` as MessageKey
const when = (iso: string | null | undefined) => (iso ? formatDate(new Date(iso)) : '—')

function makeSearchSchema() {
  return z.object({ q: z.string().trim().min(1, { error: () => t('admin.searchRequired') }).max(200) })
}

type Action = { kind: 'anonymise' | 'erase'; customer: CustomerMatch } | null

/** Customers' rights (LGPD): find a customer, export, anonymise or erase them, and the data
 * requests with their proof reports. */
export function CustomersPage() {
  const queryClient = useQueryClient()
  const [q, setQ] = useState('')
  const [action, setAction] = useState<Action>(null)
  const [done, setDone] = useState<{ request: DataRequest; already: boolean } | null>(null)
  const [exportError, setExportError] = useState<string | null>(null)
  const found = useQuery({
    queryKey: [...keys.customers, q],
    queryFn: ({ signal }) => apiFetch<Page>('/api/v1/customers', { query: { q, limit: 50 }, signal }),
    enabled: q !== '',
  })
  const {
    register,
    handleSubmit,
    formState: { errors },
  } = useForm<{ q: string }>({ resolver: zodResolver(makeSearchSchema()), defaultValues: { q: '' } })

  const changed = () => {
    void queryClient.invalidateQueries({ queryKey: keys.customers })
    void queryClient.invalidateQueries({ queryKey: keys.dataRequests })
  }
  const exportOne = async (customer: CustomerMatch) => {
    setExportError(null)
    try {
      await download(`/api/v1/customers/${String(customer.id)}/export`, `customer-${String(customer.id)}.zip`)
    } catch (error) {
      setExportError(errorText(error))
    } finally {
      void queryClient.invalidateQueries({ queryKey: keys.dataRequests })
    }
  }

  return (
    <div className="flex flex-col gap-6">
      <section aria-labelledby="admin-customers-title" className="flex flex-col gap-3">
        <h2 id="admin-customers-title" className="text-lg font-semibold">
          {t('admin.customers')}
        </h2>
        <p className="text-sm text-slate-700">{t('admin.customersIntro')}</p>
        <form
          role="search"
          className="flex flex-wrap items-end gap-2"
          noValidate
          onSubmit={(e) => void handleSubmit((values) => setQ(values.q))(e)}
        >
          <div className="min-w-64 flex-1">
            <TextField label={t('admin.searchCustomer')} hint={t('admin.searchHint')} error={errors.q?.message} {...register('q')} />
          </div>
          <Button type="submit">{t('admin.search')}</Button>
        </form>
        {found.isError ? <Alert>{errorText(found.error)}</Alert> : null}
        <Alert>{exportError}</Alert>
        {done ? <ResultPanel request={done.request} already={done.already} /> : null}
        {found.isFetching && !found.data ? <p className="text-sm text-slate-600">{t('common.loading')}</p> : null}
        {found.data && found.data.customers.length === 0 ? <p className="text-sm text-slate-600">{t('admin.noCustomers')}</p> : null}
        <ul aria-label={t('admin.searchResults')} className="grid gap-3 lg:grid-cols-2">
          {(found.data?.customers ?? []).map((c) => (
            <li key={c.id}>
              <CustomerCard
                customer={c}
                onExport={() => void exportOne(c)}
                onAnonymise={() => setAction({ kind: 'anonymise', customer: c })}
                onErase={() => setAction({ kind: 'erase', customer: c })}
              />
            </li>
          ))}
        </ul>
      </section>
      {action?.kind === 'anonymise' ? (
        <AnonymiseDialog
          customer={action.customer}
          onClose={() => setAction(null)}
          onDone={(answer) => {
            setDone({ request: answer.request, already: false })
            setAction(null)
            changed()
          }}
        />
      ) : null}
      {action?.kind === 'erase' ? (
        <EraseDialog
          customer={action.customer}
          onClose={() => setAction(null)}
          onDone={(answer) => {
            setDone({ request: answer.request, already: answer.already_erased ?? false })
            setAction(null)
            changed()
          }}
        />
      ) : null}
      <DataRequests />
    </div>
  )
}

/** Who the customer is, to be sure of the one acted on. */
function customerTitle(c: CustomerMatch): string {
  return c.name ?? c.phone ?? c.wa_id ?? c.bsuid ?? `#${String(c.id)}`
}

function CustomerCard({ customer: c, onExport, onAnonymise, onErase }: { customer: CustomerMatch; onExport: () => void; onAnonymise: () => void; onErase: () => void }) {
  const titleId = useId()
  const title = customerTitle(c)
  const facts: [MessageKey, string][] = [
    ['admin.customerId', String(c.id)],
    ['admin.phone', c.phone ?? '—'],
    ['admin.waId', c.wa_id ?? '—'],
    ['admin.bsuid', c.bsuid ?? '—'],
    ['admin.businessNumber', c.business_phone_number_id],
    ['admin.conversations', String(c.conversations)],
    ['admin.firstSeen', when(c.created_at)],
    ['admin.lastActivity', when(c.last_activity_at)],
  ]
  return (
    <article aria-labelledby={titleId} className="flex flex-col gap-2 rounded-lg bg-white p-4 shadow-sm">
      <h3 id={titleId} className="font-semibold">
        {title}
        {c.anonymized_at ? <span className="ml-2 rounded bg-slate-200 px-1 text-xs font-normal">{t('admin.anonymisedOn', { when: when(c.anonymized_at) })}</span> : null}
      </h3>
      <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-0.5 text-sm">
        {facts.map(([label, value]) => (
          <div key={label} className="contents">
            <dt className="text-slate-600">{t(label)}</dt>
            <dd className="break-all">{value}</dd>
          </div>
        ))}
      </dl>
      <div className="flex flex-wrap gap-2">
        <Button variant="secondary" size="sm" aria-label={t('admin.exportOne', { name: title })} onClick={onExport}>
          {t('admin.export')}
        </Button>
        <Button variant="danger" size="sm" disabled={c.anonymized_at !== null} aria-label={t('admin.anonymiseOne', { name: title })} onClick={onAnonymise}>
          {t('admin.anonymise')}
        </Button>
        <Button variant="danger" size="sm" aria-label={t('admin.eraseOne', { name: title })} onClick={onErase}>
          {t('admin.erase')}
        </Button>
      </div>
    </article>
  )
}

function AnonymiseDialog({ customer, onClose, onDone }: { customer: CustomerMatch; onClose: () => void; onDone: (answer: DataRequestDone) => void }) {
  const run = useMutation({
    mutationFn: () => apiFetch<DataRequestDone>(`/api/v1/customers/${String(customer.id)}/anonymise`, { method: 'POST' }),
    onSuccess: onDone,
  })
  return (
    <ConfirmDialog
      open
      onOpenChange={(open) => !open && onClose()}
      title={t('admin.anonymiseOne', { name: customerTitle(customer) })}
      confirmLabel={t('admin.anonymise')}
      onConfirm={() => run.mutate()}
      busy={run.isPending}
      error={run.isError ? errorText(run.error) : null}
    >
      <p>{t('admin.anonymiseText')}</p>
    </ConfirmDialog>
  )
}

/** What must be typed to erase: the customer's id, or their phone number as shown. */
export function eraseConfirmed(customer: Pick<CustomerMatch, 'id' | 'phone'>, typed: string): boolean {
  const value = typed.trim()
  return value !== '' && (value === String(customer.id) || (customer.phone !== null && value === customer.phone))
}

export function EraseDialog({ customer, onClose, onDone }: { customer: CustomerMatch; onClose: () => void; onDone: (answer: DataRequestDone) => void }) {
  const [typed, setTyped] = useState('')
  const inputId = useId()
  const hintId = useId()
  const run = useMutation({
    mutationFn: () => apiFetch<DataRequestDone>(`/api/v1/customers/${String(customer.id)}/erase`, { method: 'POST' }),
    onSuccess: onDone,
  })
  const ok = eraseConfirmed(customer, typed)
  return (
    <Dialog open onOpenChange={(open) => !open && onClose()} title={t('admin.eraseOne', { name: customerTitle(customer) })} closeLabel={t('admin.cancel')}>
      <form
        className="flex flex-col gap-3 text-sm"
        onSubmit={(e) => {
          e.preventDefault()
          if (ok) run.mutate()
        }}
      >
        <p>{t('admin.eraseText')}</p>
        <label htmlFor={inputId} className="font-medium text-slate-700">
          {customer.phone
            ? t('admin.eraseTypeIdOrPhone', { id: customer.id, phone: customer.phone })
            : t('admin.eraseTypeId', { id: customer.id })}
        </label>
        <input
          id={inputId}
          value={typed}
          autoComplete="off"
          spellCheck={false}
          aria-describedby={hintId}
          onChange={(e) => setTyped(e.target.value)}
          className={FIELD}
        />
        <p id={hintId} className="text-xs text-slate-600">
          {t('admin.eraseHint')}
        </p>
        <Alert>{run.isError ? errorText(run.error) : null}</Alert>
        <Button type="submit" variant="danger" disabled={!ok || run.isPending}>
          {t('admin.eraseForever')}
        </Button>
      </form>
    </Dialog>
  )
}

function ProofReport({ report }: { report: Record<string, unknown> }) {
  const rows = reportRows(report)
  if (rows.length === 0) return <p className="text-xs text-slate-600">{t('admin.noReport')}</p>
  return (
    <dl className="grid grid-cols-[auto_1fr] gap-x-3 font-mono text-xs">
      {rows.map(([path, value]) => (
        <div key={path} className="contents">
          <dt className="text-slate-600">{path}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  )
}

function ResultPanel({ request, already }: { request: DataRequest; already: boolean }) {
  return (
    <section aria-labelledby="admin-result-title" className="flex flex-col gap-2 rounded-lg border border-emerald-300 bg-emerald-50 p-4">
      <h3 id="admin-result-title" className="font-semibold">
        {t('admin.requestDone', { id: request.id, kind: t(kindKey(request.kind)), state: t(stateKey(request.state)) })}
      </h3>
      {already ? <Notice>{t('admin.alreadyErased')}</Notice> : null}
      <h4 className="text-sm font-medium">{t('admin.proofReport')}</h4>
      <ProofReport report={request.report} />
    </section>
  )
}

function DataRequests() {
  const requests = useInfiniteQuery({
    queryKey: keys.dataRequests,
    queryFn: ({ pageParam, signal }) => apiFetch<DataRequestsPage>('/api/v1/data-requests', { query: { limit: 50, cursor: pageParam }, signal }),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  })
  const rows = requests.data?.pages.flatMap((p) => p.data_requests) ?? []
  return (
    <section aria-labelledby="admin-requests-title" className="flex flex-col gap-3">
      <h2 id="admin-requests-title" className="text-lg font-semibold">
        {t('admin.dataRequests')}
      </h2>
      {requests.isError ? <Alert>{errorText(requests.error)}</Alert> : null}
      <ListTable
        caption={t('admin.dataRequests')}
        columns={[t('admin.requestId'), t('admin.kind'), t('admin.customerId'), t('admin.state'), t('admin.started'), t('admin.finished'), t('admin.proofReport')]}
        footer={
          <>
            {requests.isPending ? <p className="p-2 text-sm text-slate-600">{t('common.loading')}</p> : null}
            {requests.data && rows.length === 0 ? <p className="p-2 text-sm text-slate-600">{t('admin.noRequests')}</p> : null}
          </>
        }
      >
        {rows.map((r) => (
          <tr key={r.id} className="border-b border-slate-100 last:border-0">
            <td className={TD}>{r.id}</td>
            <td className={TD}>{t(kindKey(r.kind))}</td>
            <td className={TD}>{r.customer_id}</td>
            <td className={TD}>
              {t(stateKey(r.state))}
              {r.error ? <span className="block text-xs text-red-700">{r.error}</span> : null}
            </td>
            <td className={TD}>{when(r.started_at)}</td>
            <td className={TD}>{when(r.finished_at)}</td>
            <td className={TD}>
              <details>
                <summary className="cursor-pointer text-emerald-800">{t('admin.showReport', { id: r.id })}</summary>
                <ProofReport report={r.report} />
              </details>
            </td>
          </tr>
        ))}
      </ListTable>
      <LoadMore hasMore={requests.hasNextPage} loading={requests.isFetchingNextPage} onClick={() => void requests.fetchNextPage()} />
    </section>
  )
}
