import { zodResolver } from '@hookform/resolvers/zod'
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { useForm } from 'react-hook-form'
import { z } from 'zod'
import { Button, Dialog, TextField } from '@/components'
import { apiFetch } from '@/lib/api'
import { formatDate, t } from '@/lib/i18n'
import {
  errorText,
  keys,
  parseList,
  serverErrorOnForm,
  type DeliveriesPage,
  type RotatedSecret,
  type Webhook,
  type WebhookCreated,
  type WebhookDelivery,
  type WebhooksPage as Page,
} from './api'
import { Alert, ConfirmDialog, DeleteDialog, HeaderRow, ListTable, LoadMore, Notice, OneTimeSecret, PageHeading, TD } from './parts'

function makeWebhookSchema() {
  return z.object({
    url: z.string().trim().regex(/^https?:\/\/\S+$/i, { error: () => t('admin.urlInvalid') }),
    events: z.string().refine((text) => parseList(text).length > 0, { error: () => t('admin.eventsRequired') }),
    description: z.string().trim().max(255),
  })
}

type WebhookValues = z.infer<ReturnType<typeof makeWebhookSchema>>

type Dialogs = { kind: 'new' } | { kind: 'edit' | 'rotate' | 'delete'; webhook: Webhook } | null

/** Outbound webhook subscriptions, their signing secrets and their delivery log. */
export function WebhooksPage() {
  const queryClient = useQueryClient()
  const webhooks = useInfiniteQuery({
    queryKey: keys.webhooks,
    queryFn: ({ pageParam, signal }) => apiFetch<Page>('/api/v1/webhooks', { query: { limit: 200, cursor: pageParam }, signal }),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  })
  const [dialog, setDialog] = useState<Dialogs>(null)
  const [shown, setShown] = useState<number | null>(null)
  const refresh = () => void queryClient.invalidateQueries({ queryKey: keys.webhooks })
  const toggle = useMutation({
    mutationFn: (w: Webhook) => apiFetch<Webhook>(`/api/v1/webhooks/${String(w.id)}`, { method: 'PATCH', body: { active: !w.active } }),
    onSuccess: refresh,
  })
  const rows = webhooks.data?.pages.flatMap((p) => p.webhooks) ?? []
  const logOf = rows.find((w) => w.id === shown)
  const close = (open: boolean) => {
    if (!open) setDialog(null)
  }
  return (
    <section aria-labelledby="admin-webhooks-title" className="flex flex-col gap-3">
      <PageHeading id="admin-webhooks-title" title={t('admin.webhooks')}>
        <Button onClick={() => setDialog({ kind: 'new' })}>{t('admin.newWebhook')}</Button>
      </PageHeading>
      {webhooks.isError ? <Alert>{errorText(webhooks.error)}</Alert> : null}
      {toggle.isError ? <Alert>{errorText(toggle.error)}</Alert> : null}
      {webhooks.data && rows.length === 0 ? <p className="text-sm text-slate-600">{t('admin.noWebhooks')}</p> : null}
      {rows.length > 0 ? (
        <ListTable caption={t('admin.webhooks')} columns={[t('admin.url'), t('admin.events'), t('admin.status'), t('admin.actions')]}>
          {rows.map((w) => (
            <tr key={w.id} className="border-b border-slate-100 last:border-0">
              <td className={`${TD} break-all`}>
                {w.url}
                {w.description ? <span className="block text-xs text-slate-600">{w.description}</span> : null}
              </td>
              <td className={`${TD} font-mono`}>{w.events.join(', ')}</td>
              <td className={TD}>{w.active ? t('admin.active') : t('admin.inactive')}</td>
              <td className={`${TD} flex flex-wrap gap-1`}>
                <Button size="sm" variant="secondary" aria-pressed={w.id === shown} aria-label={t('admin.deliveriesOf', { name: w.url })} onClick={() => setShown(w.id)}>
                  {t('admin.deliveries')}
                </Button>
                <Button size="sm" variant="secondary" aria-label={t('admin.editWebhookOne', { name: w.url })} onClick={() => setDialog({ kind: 'edit', webhook: w })}>
                  {t('admin.editWebhook')}
                </Button>
                <Button
                  size="sm"
                  variant="secondary"
                  disabled={toggle.isPending}
                  aria-label={t(w.active ? 'admin.deactivateOne' : 'admin.reactivateOne', { name: w.url })}
                  onClick={() => toggle.mutate(w)}
                >
                  {t(w.active ? 'admin.deactivate' : 'admin.reactivate')}
                </Button>
                <Button size="sm" variant="secondary" aria-label={t('admin.rotateOne', { name: w.url })} onClick={() => setDialog({ kind: 'rotate', webhook: w })}>
                  {t('admin.rotate')}
                </Button>
                <Button size="sm" variant="danger" aria-label={t('admin.deleteOne', { name: w.url })} onClick={() => setDialog({ kind: 'delete', webhook: w })}>
                  {t('admin.delete')}
                </Button>
              </td>
            </tr>
          ))}
        </ListTable>
      ) : null}
      <LoadMore hasMore={webhooks.hasNextPage} loading={webhooks.isFetchingNextPage} onClick={() => void webhooks.fetchNextPage()} />
      {logOf ? <Deliveries key={logOf.id} webhook={logOf} /> : null}
      <Dialog open={dialog?.kind === 'new'} onOpenChange={close} title={t('admin.newWebhook')} closeLabel={t('common.close')}>
        <WebhookForm onCreated={refresh} />
      </Dialog>
      {dialog?.kind === 'edit' ? (
        <Dialog open onOpenChange={close} title={t('admin.editWebhookOne', { name: dialog.webhook.url })} closeLabel={t('admin.cancel')}>
          <WebhookEditForm
            webhook={dialog.webhook}
            onSaved={() => {
              refresh()
              setDialog(null)
            }}
          />
        </Dialog>
      ) : null}
      {dialog?.kind === 'rotate' ? <RotateDialog webhook={dialog.webhook} onClose={() => setDialog(null)} /> : null}
      {dialog?.kind === 'delete' ? (
        <DeleteDialog
          path={`/api/v1/webhooks/${String(dialog.webhook.id)}`}
          title={t('admin.deleteOne', { name: dialog.webhook.url })}
          text={t('admin.deleteWebhookText', { name: dialog.webhook.url })}
          onClose={() => setDialog(null)}
          onDeleted={() => {
            if (shown === dialog.webhook.id) setShown(null)
            refresh()
          }}
        />
      ) : null}
    </section>
  )
}

/** Subscribes a URL; the answer's signing secret is shown this once. */
function WebhookForm({ onCreated }: { onCreated: () => void }) {
  const [created, setCreated] = useState<WebhookCreated | null>(null)
  const [formError, setFormError] = useState<string | null>(null)
  const {
    register,
    handleSubmit,
    setError,
    formState: { errors, isSubmitting },
  } = useForm<WebhookValues>({
    resolver: zodResolver(makeWebhookSchema()),
    defaultValues: { url: '', events: '*', description: '' },
  })
  const onSubmit = handleSubmit(async ({ url, events, description }) => {
    setFormError(null)
    try {
      const body = { url, events: parseList(events), description: description || null }
      setCreated(await apiFetch<WebhookCreated>('/api/v1/webhooks', { body }))
      onCreated()
    } catch (error) {
      setFormError(serverErrorOnForm(error, ['url', 'events', 'description'], setError))
    }
  })
  if (created) {
    return (
      <div className="flex flex-col gap-3">
        <Notice>{t('admin.webhookCreated', { name: created.url })}</Notice>
        <OneTimeSecret label={t('admin.signingSecret', { name: created.url })} value={created.secret} hint={t('admin.signingSecretHint')} />
      </div>
    )
  }
  return (
    <form className="flex flex-col gap-3" noValidate onSubmit={(e) => void onSubmit(e)}>
      <TextField label={t('admin.url')} type="url" autoComplete="off" error={errors.url?.message} {...register('url')} />
      <TextField label={t('admin.events')} hint={t('admin.eventsHint')} autoComplete="off" error={errors.events?.message} {...register('events')} />
      <TextField label={t('admin.description')} autoComplete="off" error={errors.description?.message} {...register('description')} />
      <Alert>{formError}</Alert>
      <Button type="submit" disabled={isSubmitting}>
        {t('admin.create')}
      </Button>
    </form>
  )
}

type EditValues = WebhookValues & { active: boolean }

/** Changes a subscription's URL, events, description and switch (PATCH); the secret stays. */
function WebhookEditForm({ webhook, onSaved }: { webhook: Webhook; onSaved: () => void }) {
  const [formError, setFormError] = useState<string | null>(null)
  const {
    register,
    handleSubmit,
    setError,
    formState: { errors, isSubmitting, isDirty },
  } = useForm<EditValues>({
    resolver: zodResolver(makeWebhookSchema().extend({ active: z.boolean() })),
    defaultValues: { url: webhook.url, events: webhook.events.join(', '), description: webhook.description ?? '', active: webhook.active },
  })
  const onSubmit = handleSubmit(async ({ url, events, description, active }) => {
    setFormError(null)
    try {
      const body = { url, events: parseList(events), description: description || null, active }
      await apiFetch<Webhook>(`/api/v1/webhooks/${String(webhook.id)}`, { method: 'PATCH', body })
      onSaved()
    } catch (error) {
      setFormError(serverErrorOnForm(error, ['url', 'events', 'description', 'active'], setError))
    }
  })
  return (
    <form className="flex flex-col gap-3" noValidate onSubmit={(e) => void onSubmit(e)}>
      <TextField label={t('admin.url')} type="url" autoComplete="off" error={errors.url?.message} {...register('url')} />
      <TextField label={t('admin.events')} hint={t('admin.eventsHint')} autoComplete="off" error={errors.events?.message} {...register('events')} />
      <TextField label={t('admin.description')} autoComplete="off" error={errors.description?.message} {...register('description')} />
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" {...register('active')} />
        {t('admin.webhookActive')}
      </label>
      <Alert>{formError}</Alert>
      <Button type="submit" disabled={isSubmitting || !isDirty}>
        {t('admin.save')}
      </Button>
    </form>
  )
}

function RotateDialog({ webhook, onClose }: { webhook: Webhook; onClose: () => void }) {
  const rotate = useMutation({
    mutationFn: () => apiFetch<RotatedSecret>(`/api/v1/webhooks/${String(webhook.id)}/rotate-secret`, { method: 'POST' }),
  })
  if (rotate.data) {
    return (
      <Dialog open onOpenChange={(open) => !open && onClose()} title={t('admin.rotateOne', { name: webhook.url })} closeLabel={t('common.close')}>
        <OneTimeSecret label={t('admin.signingSecret', { name: webhook.url })} value={rotate.data.secret} hint={t('admin.signingSecretHint')} />
      </Dialog>
    )
  }
  return (
    <ConfirmDialog
      open
      onOpenChange={(open) => !open && onClose()}
      title={t('admin.rotateOne', { name: webhook.url })}
      confirmLabel={t('admin.rotate')}
      onConfirm={() => rotate.mutate()}
      busy={rotate.isPending}
      error={rotate.isError ? errorText(rotate.error) : null}
    >
      <p>{t('admin.rotateText')}</p>
    </ConfirmDialog>
  )
}

/** A subscription's delivery log, newest first, with "Redeliver" on each attempt. */
function Deliveries({ webhook }: { webhook: Webhook }) {
  const queryClient = useQueryClient()
  const log = useInfiniteQuery({
    queryKey: keys.deliveries(webhook.id),
    queryFn: ({ pageParam, signal }) =>
      apiFetch<DeliveriesPage>(`/api/v1/webhooks/${String(webhook.id)}/deliveries`, { query: { limit: 50, cursor: pageParam }, signal }),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  })
  const redeliver = useMutation({
    mutationFn: (d: WebhookDelivery) =>
      apiFetch<WebhookDelivery>(`/api/v1/webhooks/${String(webhook.id)}/deliveries/${String(d.id)}/redeliver`, { method: 'POST' }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: keys.deliveries(webhook.id) }),
  })
  const rows = log.data?.pages.flatMap((p) => p.deliveries) ?? []
  return (
    <section aria-labelledby="admin-deliveries-title" className="flex flex-col gap-2 rounded-lg bg-white p-4 shadow-sm">
      <h3 id="admin-deliveries-title" className="font-semibold">
        {t('admin.deliveriesOf', { name: webhook.url })}
      </h3>
      {log.isError ? <Alert>{errorText(log.error)}</Alert> : null}
      {redeliver.isError ? <Alert>{errorText(redeliver.error)}</Alert> : null}
      {redeliver.data ? (
        <Notice>{t(redeliver.data.succeeded ? 'admin.redelivered' : 'admin.redeliveryFailed', { id: redeliver.data.event_id })}</Notice>
      ) : null}
      {log.data && rows.length === 0 ? <p className="text-sm text-slate-600">{t('admin.noDeliveries')}</p> : null}
      {rows.length > 0 ? (
        <div className="overflow-x-auto">
          <table className="w-full text-sm">
            <caption className="sr-only">{t('admin.deliveriesOf', { name: webhook.url })}</caption>
            <HeaderRow columns={[t('admin.when'), t('admin.eventType'), t('admin.attempt'), t('admin.status'), t('admin.error'), t('admin.actions')]} />
            <tbody>
              {rows.map((d) => (
                <tr key={d.id} className="border-b border-slate-100 last:border-0">
                  <td className={TD}>{formatDate(new Date(d.at))}</td>
                  <td className={`${TD} font-mono`}>{d.event_type}</td>
                  <td className={TD}>{d.attempt}</td>
                  <td className={TD}>
                    {d.succeeded ? t('admin.delivered') : t('admin.notDelivered')}
                    {d.response_status !== null ? ` (${String(d.response_status)})` : ''}
                  </td>
                  <td className={`${TD} break-all`}>{d.error ?? '—'}</td>
                  <td className={TD}>
                    <Button
                      size="sm"
                      variant="secondary"
                      disabled={redeliver.isPending}
                      aria-label={t('admin.redeliverOne', { id: d.event_id, attempt: d.attempt })}
                      onClick={() => redeliver.mutate(d)}
                    >
                      {t('admin.redeliver')}
                    </Button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <LoadMore hasMore={log.hasNextPage} loading={log.isFetchingNextPage} onClick={() => void log.fetchNextPage()} />
    </section>
  )
}
