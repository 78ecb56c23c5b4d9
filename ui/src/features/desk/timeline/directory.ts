import { useQueries, useQuery, type UseQueryResult } from '@tanstack/react-query'
import { useMemo } from 'react'
import { apiFetch, type MembersPage, type TeamsPage } from '@/lib/api'
import { t } from '@/lib/i18n'
import type { Actor } from './events'

/** Names for the ids the timeline mentions. */
export interface Directory {
  team: (id: string | null) => string
  agent: (id: string | null) => string
  actor: (who: Actor) => string
}

/** Names from the lists the desk already reads (the transfer dialog's `GET /api/v1/teams` and
 * each mentioned team's members, same queries and cache); an id nobody names stays "agent #12". */
export function directoryFrom(teams: Map<string, string>, agents: Map<string, string>): Directory {
  const agent = (id: string | null) => (id === null ? t('timeline.someone') : (agents.get(id) ?? t('timeline.agentId', { id })))
  return {
    team: (id) => (id === null ? t('timeline.someTeam') : (teams.get(id) ?? t('timeline.teamId', { id }))),
    agent,
    actor: (who) => (who === null ? t('timeline.someone') : who.kind === 'bot' ? t('timeline.bot') : agent(who.id)),
  }
}

export function useDirectory(teamIds: readonly string[]): Directory {
  const wanted = useMemo(() => [...new Set(teamIds)].filter((id) => /^\d+$/.test(id)).sort(), [teamIds])
  const teams = useQuery({
    queryKey: ['teams'],
    queryFn: () => apiFetch<TeamsPage>('/api/v1/teams?limit=500'),
    staleTime: 60_000,
    enabled: wanted.length > 0,
  })
  const agents = useQueries({
    queries: wanted.map((team) => ({
      queryKey: ['teams', Number(team), 'members'],
      queryFn: () => apiFetch<MembersPage>(`/api/v1/teams/${team}/members?limit=500`),
      staleTime: 30_000,
    })),
    combine: agentNames,
  })
  return useMemo(() => {
    const teamNames = new Map((teams.data?.teams ?? []).map((tm) => [String(tm.id), tm.name]))
    return directoryFrom(teamNames, agents)
  }, [teams.data, agents])
}

/** Every member's name by user id (module-level: useQueries keeps its result while the
 * queries' data is the same). */
function agentNames(results: UseQueryResult<MembersPage>[]): Map<string, string> {
  const names = new Map<string, string>()
  for (const r of results) {
    for (const m of r.data?.members ?? []) names.set(String(m.user_id), m.name)
  }
  return names
}
