import { zodResolver } from '@hookform/resolvers/zod'
import { useInfiniteQuery } from '@tanstack/react-query'
import { useMemo, useState } from 'react'
import { useForm } from 'react-hook-form'
import { z } from 'zod'
import { Button, TextField } from '@/components'
import { apiFetch } from '@/lib/api'
import { formatDate, t } from '@/lib/i18n'
import { errorText, keys, type AuditPage as Page } from './api'
import { auditExportUrl, auditQuery, NO_FILTERS, type AuditFilters } from './audit-query'
import { download } from './download'
import { Alert, ListTable, LoadMore, SelectField, TD } from './parts'
import { useUsers } from './UsersPage'

const PAGE_SIZE = 50

function makeSchema() {
  return z
    .object({
      user: z.string(),
      action: z.string().trim().max(200),
      targetType: z.string().trim().max(200),
      targetId: z.string().trim().max(200),
      since: z.string(),
      until: z.string(),
    })
    .refine((f) => !f.since || !f.until || f.since <= f.until, { path: ['until'], error: () => t('admin.untilBeforeSince') })
}

/** The audit log, newest first, filtered; exported as JSON Lines or CSV. */
export function AuditPage() {
  const [filters, setFilters] = useState<AuditFilters>(NO_FILTERS)
  const [exportError, setExportError] = useState<string | null>(null)
  const [exporting, setExporting] = useState<'jsonl' | 'csv' | null>(null)
  const query = useMemo(() => auditQuery(filters), [filters])
  const users = useUsers()
  const names = new Map((users.data?.pages.flatMap((p) => p.users) ?? []).map((u) => [u.id, u.name]))
  const entries = useInfiniteQuery({
    queryKey: [...keys.audit, query],
    queryFn: ({ pageParam, signal }) =>
      apiFetch<Page>('/api/v1/audit', { query: { ...query, limit: PAGE_SIZE, cursor: pageParam }, signal }),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  })
  const {
    register,
    handleSubmit,
    reset,
    formState: { errors },
  } = useForm<AuditFilters>({ resolver: zodResolver(makeSchema()), defaultValues: NO_FILTERS })

  const exportAs = async (format: 'jsonl' | 'csv') => {
    setExportError(null)
    setExporting(format)
    try {
      await download(auditExportUrl(filters, format), `audit.${format}`)
    } catch (error) {
      setExportError(errorText(error))
    } finally {
      setExporting(null)
    }
  }

  const rows = entries.data?.pages.flatMap((p) => p.entries) ?? []
  return (
    <section aria-labelledby="admin-audit-title" className="flex flex-col gap-3">
      <h2 id="admin-audit-title" className="text-lg font-semibold">
        {t('admin.audit')}
      </h2>
      <form
        aria-label={t('admin.filters')}
        className="grid gap-3 rounded-lg bg-white p-3 shadow-sm sm:grid-cols-2 lg:grid-cols-3"
        noValidate
        onSubmit={(e) => void handleSubmit((values) => setFilters(values))(e)}
      >
        <SelectField label={t('admin.filterUser')} {...register('user')}>
          <option value="">{t('admin.anyone')}</option>
          {[...names].map(([id, name]) => (
            <option key={id} value={id}>
              {name} (#{id})
            </option>
          ))}
        </SelectField>
        <TextField label={t('admin.filterAction')} hint={t('admin.filterActionHint')} error={errors.action?.message} {...register('action')} />
        <TextField label={t('admin.filterTargetType')} error={errors.targetType?.message} {...register('targetType')} />
        <TextField label={t('admin.filterTargetId')} error={errors.targetId?.message} {...register('targetId')} />
        <TextField label={t('admin.filterSince')} type="datetime-local" error={errors.since?.message} {...register('since')} />
        <TextField label={t('admin.filterUntil')} type="datetime-local" error={errors.until?.message} {...register('until')} />
        <div className="flex flex-wrap items-end gap-2 sm:col-span-2 lg:col-span-3">
          <Button type="submit">{t('admin.applyFilters')}</Button>
          <Button
            variant="secondary"
            onClick={() => {
              reset(NO_FILTERS)
              setFilters(NO_FILTERS)
            }}
          >
            {t('admin.clearFilters')}
          </Button>
          <span className="ml-auto flex gap-2">
            <Button variant="secondary" disabled={exporting !== null} onClick={() => void exportAs('jsonl')}>
              {exporting === 'jsonl' ? t('admin.exporting') : t('admin.exportJsonl')}
            </Button>
            <Button variant="secondary" disabled={exporting !== null} onClick={() => void exportAs('csv')}>
              {exporting === 'csv' ? t('admin.exporting') : t('admin.exportCsv')}
            </Button>
          </span>
        </div>
      </form>
      <Alert>{exportError}</Alert>
      {entries.isError ? <Alert>{errorText(entries.error)}</Alert> : null}
      <ListTable
        caption={t('admin.audit')}
        columns={[t('admin.when'), t('admin.who'), t('admin.action'), t('admin.target'), t('admin.ip'), t('admin.details')]}
        footer={
          <>
            {entries.isPending ? <p className="p-2 text-sm text-slate-600">{t('common.loading')}</p> : null}
            {entries.data && rows.length === 0 ? <p className="p-2 text-sm text-slate-600">{t('admin.noEntries')}</p> : null}
          </>
        }
      >
        {rows.map((e) => (
          <tr key={e.seq} className="border-b border-slate-100 last:border-0">
            <td className={`${TD} whitespace-nowrap`}>
              <time dateTime={e.at}>{formatDate(new Date(e.at))}</time>
            </td>
            <td className={TD}>
              {e.user_id === null ? t('admin.system') : (names.get(e.user_id) ?? `#${String(e.user_id)}`)}
              {e.role ? <span className="block text-xs text-slate-600">{e.role}</span> : null}
            </td>
            <td className={`${TD} font-mono text-xs`}>{e.action}</td>
            <td className={TD}>{e.target_type ? `${e.target_type}${e.target_id ? ` #${e.target_id}` : ''}` : '—'}</td>
            <td className={TD}>{e.ip ?? '—'}</td>
            <td className={`${TD} max-w-xs truncate font-mono text-xs`} title={JSON.stringify(e.details)}>
              {Object.keys(e.details).length ? JSON.stringify(e.details) : ''}
            </td>
          </tr>
        ))}
      </ListTable>
      <LoadMore hasMore={entries.hasNextPage} loading={entries.isFetchingNextPage} onClick={() => void entries.fetchNextPage()} />
    </section>
  )
}
