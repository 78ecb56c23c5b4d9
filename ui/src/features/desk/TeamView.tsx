import { useQueries, useQuery, useQueryClient } from '@tanstack/react-query'
import { useEffect, useId, useMemo, useState } from 'react'
import { Button, Dialog } from '@/components'
import type { TeamConversation } from '@/lib/agent-socket'
import { apiFetch, type AgentEntry, type AgentsList, type ConversationEntry, type TeamsPage } from '@/lib/api'
import { formatDuration, t, type MessageKey } from '@/lib/i18n'
import { fromApi, isConversationMessage, useConversationMessages } from './messages'
import { useDeskStore } from './store'
import { useTeamFeed } from './team-feed'
import { useCommands } from './useCommands'
import { useNow } from './useNow'
import { WhatsAppText } from './whatsapp-format'

/** How often the agents' presence and load are read again when nothing announced a change
 * (a backstop: a `queue.stats` event refreshes them at once). The conversations need none:
 * they come live from the team feed. */
const BACKSTOP_MS = 10_000
/** How often a watched conversation's messages are read again. */
const WATCH_MS = 3_000

const FIELD = 'rounded-md border border-slate-300 px-2 py-1 text-sm outline-none focus:ring-2 focus:ring-emerald-500'

type Customer = { name: string | null; phone: string | null }

function customerName(c: TeamConversation, known?: Customer): string {
  const customer = c.customer ?? known
  return customer?.name ?? customer?.phone ?? `#${String(c.conversation_id)}`
}

/** Customers of conversations that entered the team after the snapshot (a change frame
 * carries no customer): read once each. */
function useMissingCustomers(rows: TeamConversation[]): Map<number, Customer> {
  const missing = rows.filter((c) => !c.customer).map((c) => c.conversation_id)
  const results = useQueries({
    queries: missing.map((id) => ({
      queryKey: ['conversation', id, 'customer'],
      queryFn: ({ signal }: { signal: AbortSignal }) => apiFetch<ConversationEntry>(`/api/v1/conversations/${String(id)}`, { signal }),
      staleTime: Infinity,
      retry: 1,
    })),
  })
  return new Map(
    results.flatMap((r, i) => (r.data ? [[missing[i] ?? 0, { name: r.data.customer.name, phone: r.data.customer.phone }] as const] : [])),
  )
}

/** The supervisor's live view of one team: the queue (waiting, oldest wait), the agents
 * (presence and load) and every open conversation with its owner, to watch, take over or
 * (re)assign. */
export function TeamView({ userId }: { userId: number }) {
  const teams = useQuery({ queryKey: ['teams'], queryFn: () => apiFetch<TeamsPage>('/api/v1/teams?limit=500'), staleTime: 60_000 })
  const [chosen, setChosen] = useState<number | null>(null)
  const teamId = chosen ?? teams.data?.teams[0]?.id ?? null
  const selectId = useId()
  const commands = useCommands()
  const queryClient = useQueryClient()
  const stats = useDeskStore((s) => (teamId === null ? undefined : s.teamStats[String(teamId)]))
  const now = useNow(1000)
  const [watching, setWatching] = useState<TeamConversation | null>(null)

  const feed = useTeamFeed(teamId)
  const open = useMemo(
    () =>
      [...feed.rows.values()].sort(
        (a, b) => Date.parse(a.opened_at ?? '') - Date.parse(b.opened_at ?? '') || a.conversation_id - b.conversation_id,
      ),
    [feed.rows],
  )
  const customers = useMissingCustomers(open)
  const agents = useQuery({
    queryKey: ['agents'],
    queryFn: () => apiFetch<AgentsList>('/api/v1/agents?limit=500'),
    refetchInterval: BACKSTOP_MS,
  })

  // Ask for the queue once (later ones come as events), and read the agents again whenever
  // an event says the queue changed.
  const { queueStats } = commands
  useEffect(() => {
    if (teamId !== null) void queueStats(teamId)
  }, [teamId, queueStats])
  const statsAt = stats?.at
  useEffect(() => {
    if (statsAt === undefined) return
    void queryClient.invalidateQueries({ queryKey: ['agents'] })
  }, [statsAt, queryClient])

  const members = useMemo(
    () => (agents.data?.agents ?? []).filter((a) => a.active && a.teams.some((m) => m.team_id === teamId)),
    [agents.data, teamId],
  )
  const names = useMemo(() => new Map((agents.data?.agents ?? []).map((a) => [a.id, a.name])), [agents.data])
  const load = (agent: AgentEntry) => open.filter((c) => c.agent === String(agent.id) && c.owner === 'assigned').length
  const capacity = (agent: AgentEntry) => agent.teams.find((m) => m.team_id === teamId)?.max_concurrent ?? 0
  const waiting = open.filter((c) => c.owner === 'queued' || c.owner === 'offered')
  const oldest = waiting.reduce<number | null>((min, c) => {
    const since = Date.parse(c.last_customer_message_at ?? c.opened_at ?? '')
    return Number.isNaN(since) ? min : min === null ? since : Math.min(min, since)
  }, null)

  return (
    <section aria-labelledby="team-view-title" className="flex min-h-0 flex-1 flex-col overflow-y-auto bg-slate-50 p-4">
      <div className="mb-4 flex flex-wrap items-center gap-3">
        <h2 id="team-view-title" className="text-lg font-semibold">
          {t('team.title')}
        </h2>
        <label htmlFor={selectId} className="sr-only">
          {t('team.choose')}
        </label>
        <select id={selectId} value={teamId ?? ''} onChange={(e) => setChosen(Number(e.target.value))} className={FIELD}>
          {(teams.data?.teams ?? []).map((tm) => (
            <option key={tm.id} value={tm.id}>
              {tm.name}
            </option>
          ))}
        </select>
        <span role="status" className="text-xs text-slate-500">
          {feed.ready ? t('team.live') : t('team.connecting')}
        </span>
      </div>
      {teams.data && teams.data.teams.length === 0 ? <p className="text-sm text-slate-600">{t('team.none')}</p> : null}

      <dl aria-label={t('team.queue')} className="mb-4 grid grid-cols-2 gap-2 sm:grid-cols-4">
        {(
          [
            ['team.waiting', String(stats?.waiting ?? waiting.length)],
            ['team.oldestWait', oldest === null ? '—' : formatDuration(Math.max(0, Math.round((now - oldest) / 1000)))],
            ['team.online', String(stats?.agents_online ?? members.filter((a) => a.presence === 'online').length)],
            ['team.freeSlots', stats ? String(stats.free_slots) : '—'],
          ] as [MessageKey, string][]
        ).map(([label, value]) => (
          <div key={label} className="rounded-lg bg-white p-3 shadow-sm">
            <dt className="text-xs text-slate-600">{t(label)}</dt>
            <dd className="text-xl font-semibold">{value}</dd>
          </div>
        ))}
      </dl>

      <h3 className="mb-2 font-medium">{t('team.agents')}</h3>
      <ul aria-label={t('team.agents')} className="mb-4 grid gap-2 sm:grid-cols-2 lg:grid-cols-3">
        {members.map((agent) => (
          <li key={agent.id} className="flex items-center justify-between rounded-lg bg-white p-2 text-sm shadow-sm">
            <span>
              <span className="font-medium">{agent.name}</span>{' '}
              <span className="text-slate-600">· {t(`team.presence.${agent.presence}` as MessageKey)}</span>
            </span>
            <span className="text-slate-700">
              {t('team.load', { load: load(agent), capacity: capacity(agent) })}
            </span>
          </li>
        ))}
      </ul>

      <h3 className="mb-2 font-medium">{t('team.conversations')}</h3>
      {feed.error ? <p className="text-sm text-red-700">{t('common.error', { detail: feed.error })}</p> : null}
      {feed.truncated ? <p className="text-sm text-amber-800">{t('team.truncated')}</p> : null}
      <table className="w-full border-separate border-spacing-y-1 text-left text-sm">
        <thead className="text-xs text-slate-600">
          <tr>
            <th scope="col" className="px-2">{t('team.customer')}</th>
            <th scope="col" className="px-2">{t('team.state')}</th>
            <th scope="col" className="px-2">{t('team.owner')}</th>
            <th scope="col" className="px-2">
              <span className="sr-only">{t('team.actions')}</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {open.map((c) => {
            const name = customerName(c, customers.get(c.conversation_id))
            const owner = c.owner === 'assigned' && c.agent !== null ? Number(c.agent) : null
            return (
              <tr key={c.conversation_id} className="bg-white">
                <td className="px-2 py-1.5">{name}</td>
                <td className="px-2 py-1.5">{t(`team.owner.${c.owner}` as MessageKey)}</td>
                <td className="px-2 py-1.5">{owner === null ? '—' : (names.get(owner) ?? `#${String(owner)}`)}</td>
                <td className="flex flex-wrap justify-end gap-1 px-2 py-1">
                  <Button variant="ghost" size="sm" aria-label={t('team.watchOne', { name })} onClick={() => setWatching(c)}>
                    {t('team.watch')}
                  </Button>
                  {owner !== userId ? (
                    <Button
                      variant="secondary"
                      size="sm"
                      aria-label={t('team.takeOverOne', { name })}
                      onClick={() => void commands.assign(c.conversation_id, userId, teamId)}
                    >
                      {t('team.takeOver')}
                    </Button>
                  ) : null}
                  <AssignSelect name={name} owner={owner} members={members} onAssign={(agent) => void commands.assign(c.conversation_id, agent, teamId)} />
                </td>
              </tr>
            )
          })}
        </tbody>
      </table>
      {feed.ready && open.length === 0 ? <p className="text-sm text-slate-600">{t('team.noConversations')}</p> : null}
      {watching ? (
        <WatchDialog conversationId={watching.conversation_id} name={customerName(watching, customers.get(watching.conversation_id))} onClose={() => setWatching(null)} />
      ) : null}
    </section>
  )
}

function AssignSelect({ name, owner, members, onAssign }: { name: string; owner: number | null; members: AgentEntry[]; onAssign: (agent: number) => void }) {
  const id = useId()
  return (
    <>
      <label htmlFor={id} className="sr-only">
        {t('team.assignOne', { name })}
      </label>
      <select
        id={id}
        value=""
        onChange={(e) => {
          if (e.target.value) onAssign(Number(e.target.value))
        }}
        className={FIELD}
      >
        <option value="">{t('team.assign')}</option>
        {members
          .filter((a) => a.id !== owner)
          .map((a) => (
            <option key={a.id} value={a.id}>
              {a.name}
            </option>
          ))}
      </select>
    </>
  )
}

/** A conversation as it goes, read only: its messages, read again every few seconds. */
function WatchDialog({ conversationId, name, onClose }: { conversationId: number; name: string; onClose: () => void }) {
  const query = useConversationMessages(conversationId, WATCH_MS)
  const messages = (query.data?.pages ?? [])
    .flatMap((page) => page.messages.filter(isConversationMessage).map(fromApi))
    .sort((a, b) => (typeof a.id === 'number' && typeof b.id === 'number' ? a.id - b.id : 0))
  return (
    <Dialog open onOpenChange={(open) => !open && onClose()} title={t('team.watching', { name })} closeLabel={t('common.close')}>
      <div role="log" title={t('desk.messages')} className="flex max-h-96 flex-col gap-2 overflow-y-auto bg-slate-100 p-2">
        {messages.map((m) => (
          <p key={m.id} className={`max-w-[85%] rounded px-2 py-1 text-sm ${m.direction === 'out' ? 'self-end bg-emerald-100' : 'bg-white'}`}>
            <span className="sr-only">{m.direction === 'out' ? t('desk.you') : t('desk.customer')}: </span>
            <WhatsAppText text={m.text} />
          </p>
        ))}
        {query.isPending ? <p className="text-sm text-slate-500">{t('common.loading')}</p> : null}
      </div>
    </Dialog>
  )
}
