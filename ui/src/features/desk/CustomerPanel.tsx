import { useQuery } from '@tanstack/react-query'
import { Button } from '@/components'
import { apiFetch, type CustomerProfile } from '@/lib/api'
import { formatDate, t, type MessageKey } from '@/lib/i18n'

interface CustomerPanelProps {
  customerId: number
  conversationId: number
  onClose: () => void
}

function display(value: unknown): string {
  if (value === null || value === undefined) return '—'
  if (typeof value === 'string') return value
  return JSON.stringify(value)
}

/** Who the agent is talking to: the customer's name and phone, their past conversations and
 * what the bot's flows collected in each (a CPF, a chosen topic...). */
export function CustomerPanel({ customerId, conversationId, onClose }: CustomerPanelProps) {
  const profile = useQuery({
    queryKey: ['customer', customerId],
    queryFn: () => apiFetch<CustomerProfile>(`/api/v1/customers/${String(customerId)}`),
    staleTime: 30_000,
  })
  const data = profile.data
  return (
    <aside
      id="customer-panel"
      aria-labelledby="customer-panel-title"
      className="absolute inset-0 z-10 flex flex-col overflow-y-auto bg-white lg:static lg:z-auto lg:w-80 lg:shrink-0 lg:border-l lg:border-slate-200"
    >
      <div className="flex items-center justify-between border-b border-slate-200 px-4 py-3">
        <h3 id="customer-panel-title" className="font-semibold">
          {t('desk.customerPanel')}
        </h3>
        <Button variant="ghost" size="sm" onClick={onClose}>
          {t('common.close')}
        </Button>
      </div>
      <div className="flex flex-col gap-4 p-4 text-sm">
        {profile.isPending ? <p className="text-slate-500">{t('common.loading')}</p> : null}
        {profile.isError ? <p className="text-red-700">{t('common.error', { detail: profile.error.message })}</p> : null}
        {data ? (
          <>
            <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1">
              <dt className="text-slate-500">{t('desk.customerName')}</dt>
              <dd className="break-words">{data.name ?? '—'}</dd>
              <dt className="text-slate-500">{t('desk.customerPhone')}</dt>
              <dd className="break-words">{data.phone ?? data.wa_id ?? '—'}</dd>
            </dl>
            <section aria-labelledby="past-conversations">
              <h4 id="past-conversations" className="mb-2 font-medium">
                {t('desk.pastConversations')}
              </h4>
              <ol className="flex flex-col gap-3">
                {data.conversations.map((c) => {
                  const collected = Object.entries(c.collected)
                  return (
                    <li key={c.id} className="rounded border border-slate-200 p-2">
                      <p className="flex justify-between gap-2">
                        <span>
                          {c.opened_at ? formatDate(new Date(c.opened_at)) : '—'}
                          {c.id === conversationId ? ` · ${t('desk.thisConversation')}` : ''}
                        </span>
                        <span className="text-slate-500">{t(`desk.conversationStatus.${c.status}` as MessageKey)}</span>
                      </p>
                      {c.labels.length > 0 ? <p className="mt-1 text-xs text-slate-600">{c.labels.join(', ')}</p> : null}
                      {collected.length > 0 ? (
                        <dl className="mt-2 grid grid-cols-[auto_1fr] gap-x-2 text-xs">
                          {collected.map(([name, value]) => (
                            <div key={name} className="contents">
                              <dt className="font-mono text-slate-500">{name}</dt>
                              <dd className="break-words">{display(value)}</dd>
                            </div>
                          ))}
                        </dl>
                      ) : null}
                    </li>
                  )
                })}
              </ol>
            </section>
          </>
        ) : null}
      </div>
    </aside>
  )
}
