import { useEffect, useState } from 'react'
import type { TeamConversation, TeamSnapshot } from '@/lib/agent-socket'
import { useDeskSocketClient } from './desk-context'

/** A watched team's open conversations by id. */
export type TeamRows = ReadonlyMap<number, TeamConversation>

/** The rows after one `team.conversation` frame: it replaces what we held (keeping the
 * customer the snapshot gave), or removes a conversation that was resolved or left ``team``. */
export function applyTeamChange(rows: TeamRows, change: TeamConversation, team: string): TeamRows {
  const next = new Map(rows)
  if (change.team !== team || change.status === 'resolved') {
    next.delete(change.conversation_id)
    return next
  }
  const known = rows.get(change.conversation_id)
  next.set(change.conversation_id, { ...known, ...change, customer: change.customer ?? known?.customer })
  return next
}

export function rowsOf(snapshot: TeamSnapshot): TeamRows {
  return new Map(snapshot.conversations.map((c) => [c.conversation_id, c]))
}

export interface TeamFeedState {
  rows: TeamRows
  /** The snapshot arrived: the rows are the team's (until the connection drops). */
  ready: boolean
  truncated: boolean
  error: string | null
}

const EMPTY: TeamFeedState = { rows: new Map(), ready: false, truncated: false, error: null }

/** The feed's state and the team it belongs to (a view switched to another team shows
 * nothing of the previous one while the new snapshot comes). */
type Held = TeamFeedState & { team: string | null }

/**
 * The open conversations of ``teamId``, live: `watch_teams` on the desk's socket gives a
 * snapshot, then each change is applied as its frame arrives (the server sends nothing
 * twice and misses nothing between the two; docs/agent-protocol.md). After a reconnect the
 * team is watched again, from a new snapshot.
 */
export function useTeamFeed(teamId: number | null): TeamFeedState {
  const client = useDeskSocketClient()
  const [state, setState] = useState<Held>({ ...EMPTY, team: null })

  useEffect(() => {
    if (teamId === null) return
    const team = String(teamId)
    let active = true
    // A frame that arrives before the snapshot belongs to an earlier watch: the snapshot
    // replaces it. Frames after the answer arrive in later socket messages, so they are
    // applied after the snapshot.
    const stopFrames = client.onTeamChange((change) => {
      setState((s) => (s.team === team ? { ...s, rows: applyTeamChange(s.rows, change, team) } : s))
    })
    const watch = () => {
      client
        .send({ type: 'watch_teams', teams: [team] })
        .then((data) => {
          if (!active) return
          const snapshot = data as unknown as TeamSnapshot
          setState({ rows: rowsOf(snapshot), ready: true, truncated: snapshot.truncated, error: null, team })
        })
        .catch((error: unknown) => {
          if (!active) return
          const detail = error instanceof Error ? error.message : String(error)
          setState((s) => ({ ...(s.team === team ? s : EMPTY), team, ready: false, error: detail }))
        })
    }
    const stopState = client.onStateChange((connection) => {
      if (connection === 'live') watch()
      else setState((s) => ({ ...s, ready: false }))
    })
    if (client.state === 'live') watch()
    return () => {
      active = false
      stopFrames()
      stopState()
      client.send({ type: 'watch_teams', teams: [] }).catch(() => undefined)
    }
  }, [client, teamId])

  return state.team === (teamId === null ? null : String(teamId)) ? state : EMPTY
}
