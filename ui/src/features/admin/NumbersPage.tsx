import { zodResolver } from '@hookform/resolvers/zod'
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { useForm } from 'react-hook-form'
import { z } from 'zod'
import { Button, Dialog, TextField } from '@/components'
import { apiFetch } from '@/lib/api'
import { t } from '@/lib/i18n'
import { errorText, keys, serverErrorOnForm, type BusinessNumber, type NumbersPage as Page } from './api'
import { Alert, DeleteDialog, ListTable, LoadMore, PageHeading, TD } from './parts'

function makeNumberSchema() {
  return z.object({
    phone_number_id: z.string().trim().regex(/^\d{1,64}$/, { error: () => t('admin.phoneNumberIdInvalid') }),
    waba_id: z.string().trim().regex(/^\d{0,64}$/, { error: () => t('admin.wabaIdInvalid') }),
    display_name: z.string().trim().max(200),
    access_token: z.string().trim(),
  })
}

type NumberValues = z.infer<ReturnType<typeof makeNumberSchema>>
const FIELDS = ['phone_number_id', 'waba_id', 'display_name', 'access_token'] as const

type Dialogs = { kind: 'new' } | { kind: 'edit' | 'delete'; number: BusinessNumber } | null

/** The WhatsApp business numbers PyTake serves, each with its own (write-only) access token. */
export function NumbersPage() {
  const queryClient = useQueryClient()
  const numbers = useInfiniteQuery({
    queryKey: keys.numbers,
    queryFn: ({ pageParam, signal }) => apiFetch<Page>('/api/v1/numbers', { query: { limit: 100, cursor: pageParam }, signal }),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  })
  const [dialog, setDialog] = useState<Dialogs>(null)
  const refresh = () => void queryClient.invalidateQueries({ queryKey: keys.numbers })
  const pause = useMutation({
    mutationFn: (n: BusinessNumber) => apiFetch<BusinessNumber>(`/api/v1/numbers/${n.phone_number_id}/${n.paused ? 'resume' : 'pause'}`, { method: 'POST' }),
    onSuccess: refresh,
  })
  const rows = numbers.data?.pages.flatMap((p) => p.numbers) ?? []
  const close = (open: boolean) => {
    if (!open) setDialog(null)
  }
  return (
    <section aria-labelledby="admin-numbers-title" className="flex flex-col gap-3">
      <PageHeading id="admin-numbers-title" title={t('admin.numbers')}>
        <Button onClick={() => setDialog({ kind: 'new' })}>{t('admin.newNumber')}</Button>
      </PageHeading>
      {numbers.isError ? <Alert>{errorText(numbers.error)}</Alert> : null}
      {pause.isError ? <Alert>{errorText(pause.error)}</Alert> : null}
      {numbers.data && rows.length === 0 ? <p className="text-sm text-slate-600">{t('admin.noNumbers')}</p> : null}
      {rows.length > 0 ? (
        <ListTable caption={t('admin.numbers')} columns={[t('admin.phoneNumberId'), t('admin.wabaId'), t('admin.displayName'), t('admin.hasToken'), t('admin.status'), t('admin.actions')]}>
          {rows.map((n) => (
            <tr key={n.phone_number_id} className="border-b border-slate-100 last:border-0">
              <td className={`${TD} font-mono`}>{n.phone_number_id}</td>
              <td className={`${TD} font-mono`}>{n.waba_id || '—'}</td>
              <td className={TD}>{n.display_name || '—'}</td>
              <td className={TD}>{n.has_token ? t('admin.yes') : t('admin.no')}</td>
              <td className={TD}>{n.paused ? t('admin.paused') : t('admin.active')}</td>
              <td className={`${TD} flex flex-wrap gap-1`}>
                <Button size="sm" variant="secondary" aria-label={t('admin.editOne', { name: n.phone_number_id })} onClick={() => setDialog({ kind: 'edit', number: n })}>
                  {t('admin.edit')}
                </Button>
                <Button
                  size="sm"
                  variant="secondary"
                  disabled={pause.isPending}
                  aria-label={t(n.paused ? 'admin.resumeOne' : 'admin.pauseOne', { name: n.phone_number_id })}
                  onClick={() => pause.mutate(n)}
                >
                  {t(n.paused ? 'admin.resume' : 'admin.pause')}
                </Button>
                <Button size="sm" variant="danger" aria-label={t('admin.deleteOne', { name: n.phone_number_id })} onClick={() => setDialog({ kind: 'delete', number: n })}>
                  {t('admin.delete')}
                </Button>
              </td>
            </tr>
          ))}
        </ListTable>
      ) : null}
      <p className="text-xs text-slate-600">{t('admin.pauseHint')}</p>
      <LoadMore hasMore={numbers.hasNextPage} loading={numbers.isFetchingNextPage} onClick={() => void numbers.fetchNextPage()} />
      {dialog?.kind === 'new' || dialog?.kind === 'edit' ? (
        <Dialog
          open
          onOpenChange={close}
          title={dialog.kind === 'new' ? t('admin.newNumber') : t('admin.editOne', { name: dialog.number.phone_number_id })}
          closeLabel={t('admin.cancel')}
        >
          <NumberForm
            number={dialog.kind === 'edit' ? dialog.number : undefined}
            onSaved={() => {
              refresh()
              setDialog(null)
            }}
          />
        </Dialog>
      ) : null}
      {dialog?.kind === 'delete' ? (
        <DeleteDialog
          path={`/api/v1/numbers/${dialog.number.phone_number_id}`}
          title={t('admin.deleteOne', { name: dialog.number.phone_number_id })}
          text={t('admin.deleteNumberText', { name: dialog.number.phone_number_id })}
          onClose={() => setDialog(null)}
          onDeleted={refresh}
        />
      ) : null}
    </section>
  )
}

/** Adds a number, or changes one's WABA id, name and token. The token is never read back: an
 * empty field keeps the one stored. */
function NumberForm({ number, onSaved }: { number?: BusinessNumber | undefined; onSaved: () => void }) {
  const [formError, setFormError] = useState<string | null>(null)
  const {
    register,
    handleSubmit,
    setError,
    formState: { errors, isSubmitting },
  } = useForm<NumberValues>({
    resolver: zodResolver(makeNumberSchema()),
    defaultValues: {
      phone_number_id: number?.phone_number_id ?? '',
      waba_id: number?.waba_id ?? '',
      display_name: number?.display_name ?? '',
      access_token: '',
    },
  })
  const onSubmit = handleSubmit(async ({ phone_number_id, access_token, ...rest }) => {
    setFormError(null)
    const body = { ...rest, ...(access_token ? { access_token } : {}) }
    try {
      if (number) await apiFetch<BusinessNumber>(`/api/v1/numbers/${number.phone_number_id}`, { method: 'PATCH', body })
      else await apiFetch<BusinessNumber>('/api/v1/numbers', { body: { phone_number_id, ...body } })
      onSaved()
    } catch (error) {
      setFormError(serverErrorOnForm(error, FIELDS, setError))
    }
  })
  return (
    <form className="flex flex-col gap-3" noValidate onSubmit={(e) => void onSubmit(e)}>
      <TextField
        label={t('admin.phoneNumberId')}
        inputMode="numeric"
        autoComplete="off"
        readOnly={number !== undefined}
        error={errors.phone_number_id?.message}
        {...register('phone_number_id')}
      />
      <TextField label={t('admin.wabaId')} inputMode="numeric" autoComplete="off" error={errors.waba_id?.message} {...register('waba_id')} />
      <TextField label={t('admin.displayName')} autoComplete="off" error={errors.display_name?.message} {...register('display_name')} />
      <TextField
        label={t('admin.accessToken')}
        type="password"
        autoComplete="new-password"
        hint={number ? t(number.has_token ? 'admin.accessTokenKeep' : 'admin.accessTokenNone') : t('admin.accessTokenNew')}
        error={errors.access_token?.message}
        {...register('access_token')}
      />
      <Alert>{formError}</Alert>
      <Button type="submit" disabled={isSubmitting}>
        {number ? t('admin.save') : t('admin.create')}
      </Button>
    </form>
  )
}
