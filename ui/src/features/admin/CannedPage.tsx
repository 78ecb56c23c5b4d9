import { zodResolver } from '@hookform/resolvers/zod'
import { useInfiniteQuery, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { useForm } from 'react-hook-form'
import { z } from 'zod'
import { Button, Dialog, TextField } from '@/components'
import { apiFetch } from '@/lib/api'
import { t } from '@/lib/i18n'
import { errorText, keys, serverErrorOnForm, type Canned, type CannedPage as Page } from './api'
import { Alert, DeleteDialog, ListTable, LoadMore, PageHeading, SelectField, TD, TextAreaField } from './parts'
import { useTeams } from './TeamsPage'

function makeCannedSchema() {
  return z.object({
    shortcut: z.string().trim().min(1, { error: () => t('admin.shortcutRequired') }).max(32, { error: () => t('admin.shortcutTooLong') }),
    title: z.string().trim().min(1, { error: () => t('admin.titleRequired') }).max(120),
    text: z.string().trim().min(1, { error: () => t('admin.textRequired') }).max(4096),
  })
}

type CannedValues = z.infer<ReturnType<typeof makeCannedSchema>>

type Dialogs = { kind: 'new' } | { kind: 'edit' | 'delete'; canned: Canned } | null

/** Each team's canned responses: the shortcut agents type after "/" in the desk. */
export function CannedPage() {
  const teams = useTeams()
  const [chosen, setChosen] = useState<number | null>(null)
  const [dialog, setDialog] = useState<Dialogs>(null)
  const queryClient = useQueryClient()
  const list = teams.data?.teams ?? []
  const team = list.find((tm) => tm.id === chosen) ?? list[0]
  const canned = useInfiniteQuery({
    queryKey: keys.canned(team?.id ?? 0),
    queryFn: ({ pageParam, signal }) =>
      apiFetch<Page>('/api/v1/canned-responses', { query: { team: team?.id, limit: 200, cursor: pageParam }, signal }),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    enabled: team !== undefined,
  })
  const rows = canned.data?.pages.flatMap((p) => p.canned_responses) ?? []
  const close = (open: boolean) => {
    if (!open) setDialog(null)
  }
  const refresh = () => void queryClient.invalidateQueries({ queryKey: keys.canned(team?.id ?? 0) })
  return (
    <section aria-labelledby="admin-canned-title" className="flex flex-col gap-3">
      <PageHeading id="admin-canned-title" title={t('admin.canned')}>
        <Button disabled={!team} onClick={() => setDialog({ kind: 'new' })}>
          {t('admin.newCanned')}
        </Button>
      </PageHeading>
      {teams.isError ? <Alert>{errorText(teams.error)}</Alert> : null}
      {teams.data && list.length === 0 ? <p className="text-sm text-slate-600">{t('admin.noTeams')}</p> : null}
      {team ? (
        <div className="self-start">
          <SelectField label={t('admin.team')} value={team.id} onChange={(e) => setChosen(Number(e.target.value))}>
            {list.map((tm) => (
              <option key={tm.id} value={tm.id}>
                {tm.name}
              </option>
            ))}
          </SelectField>
        </div>
      ) : null}
      {canned.isError ? <Alert>{errorText(canned.error)}</Alert> : null}
      {team && canned.data && rows.length === 0 ? <p className="text-sm text-slate-600">{t('admin.noCanned')}</p> : null}
      {rows.length > 0 && team ? (
        <ListTable caption={t('admin.cannedOf', { name: team.name })} columns={[t('admin.shortcut'), t('admin.cannedTitle'), t('admin.cannedText'), t('admin.actions')]}>
          {rows.map((c) => (
            <tr key={c.id} className="border-b border-slate-100 last:border-0">
              <td className={`${TD} font-mono`}>/{c.shortcut}</td>
              <td className={TD}>{c.title}</td>
              <td className={`${TD} max-w-md whitespace-pre-wrap`}>{c.text}</td>
              <td className={`${TD} flex flex-wrap gap-1`}>
                <Button size="sm" variant="secondary" aria-label={t('admin.editOne', { name: `/${c.shortcut}` })} onClick={() => setDialog({ kind: 'edit', canned: c })}>
                  {t('admin.edit')}
                </Button>
                <Button size="sm" variant="danger" aria-label={t('admin.deleteOne', { name: `/${c.shortcut}` })} onClick={() => setDialog({ kind: 'delete', canned: c })}>
                  {t('admin.delete')}
                </Button>
              </td>
            </tr>
          ))}
        </ListTable>
      ) : null}
      <LoadMore hasMore={canned.hasNextPage} loading={canned.isFetchingNextPage} onClick={() => void canned.fetchNextPage()} />
      {team && (dialog?.kind === 'new' || dialog?.kind === 'edit') ? (
        <Dialog
          open
          onOpenChange={close}
          title={dialog.kind === 'new' ? t('admin.newCannedFor', { name: team.name }) : t('admin.editOne', { name: `/${dialog.canned.shortcut}` })}
          closeLabel={t('admin.cancel')}
        >
          <CannedForm
            teamId={team.id}
            canned={dialog.kind === 'edit' ? dialog.canned : undefined}
            onSaved={() => {
              refresh()
              setDialog(null)
            }}
          />
        </Dialog>
      ) : null}
      {dialog?.kind === 'delete' ? (
        <DeleteDialog
          path={`/api/v1/canned-responses/${String(dialog.canned.id)}`}
          title={t('admin.deleteOne', { name: `/${dialog.canned.shortcut}` })}
          text={t('admin.deleteCannedText', { name: `/${dialog.canned.shortcut}` })}
          onClose={() => setDialog(null)}
          onDeleted={refresh}
        />
      ) : null}
    </section>
  )
}

/** Creates a canned response in `teamId`, or changes `canned`. */
function CannedForm({ teamId, canned, onSaved }: { teamId: number; canned?: Canned | undefined; onSaved: () => void }) {
  const [formError, setFormError] = useState<string | null>(null)
  const {
    register,
    handleSubmit,
    setError,
    formState: { errors, isSubmitting },
  } = useForm<CannedValues>({
    resolver: zodResolver(makeCannedSchema()),
    defaultValues: { shortcut: canned?.shortcut ?? '', title: canned?.title ?? '', text: canned?.text ?? '' },
  })
  const onSubmit = handleSubmit(async (values) => {
    setFormError(null)
    try {
      if (canned) await apiFetch<Canned>(`/api/v1/canned-responses/${String(canned.id)}`, { method: 'PATCH', body: values })
      else await apiFetch<Canned>('/api/v1/canned-responses', { body: { team_id: teamId, ...values } })
      onSaved()
    } catch (error) {
      setFormError(serverErrorOnForm(error, ['shortcut', 'title', 'text'], setError, { shortcut_taken: 'shortcut' }))
    }
  })
  return (
    <form className="flex flex-col gap-3" noValidate onSubmit={(e) => void onSubmit(e)}>
      <TextField label={t('admin.shortcut')} hint={t('admin.shortcutHint')} autoComplete="off" error={errors.shortcut?.message} {...register('shortcut')} />
      <TextField label={t('admin.cannedTitle')} autoComplete="off" error={errors.title?.message} {...register('title')} />
      <TextAreaField label={t('admin.cannedText')} error={errors.text?.message} {...register('text')} />
      <Alert>{formError}</Alert>
      <Button type="submit" disabled={isSubmitting}>
        {canned ? t('admin.save') : t('admin.create')}
      </Button>
    </form>
  )
}
