import { describe, expect, it } from 'vitest'
import type { TeamConversation } from '@/lib/agent-socket'
import { applyTeamChange, rowsOf } from './team-feed'

function row(id: number, owner: TeamConversation['owner'], team = '3', status: TeamConversation['status'] = 'open'): TeamConversation {
  return { conversation_id: id, team, owner, agent: owner === 'assigned' ? '12' : null, priority: 0, labels: [], status }
}

describe('the team feed', () => {
  const snapshot = rowsOf({
    teams: ['3'],
    truncated: false,
    conversations: [{ ...row(1, 'queued'), customer: { id: 9, name: 'Ana', phone: null } }, row(2, 'offered')],
  })

  it('replaces a conversation with its change and keeps the customer the snapshot gave', () => {
    const next = applyTeamChange(snapshot, row(1, 'assigned'), '3')
    expect(next.get(1)?.owner).toBe('assigned')
    expect(next.get(1)?.agent).toBe('12')
    expect(next.get(1)?.customer?.name).toBe('Ana')
    expect(snapshot.get(1)?.owner).toBe('queued') // the old map is left as it was
  })

  it('adds a conversation that enters the team and drops one resolved or gone elsewhere', () => {
    let rows = applyTeamChange(snapshot, row(5, 'queued'), '3')
    expect([...rows.keys()].sort()).toEqual([1, 2, 5])
    rows = applyTeamChange(rows, row(1, 'resolved', '3', 'resolved'), '3')
    rows = applyTeamChange(rows, row(2, 'queued', '4'), '3')
    expect([...rows.keys()]).toEqual([5])
  })

  it('ends on the last change when changes repeat (a frame for what the snapshot held)', () => {
    let rows = applyTeamChange(snapshot, row(1, 'offered'), '3')
    rows = applyTeamChange(rows, row(1, 'assigned'), '3')
    rows = applyTeamChange(rows, row(1, 'assigned'), '3')
    expect(rows.get(1)?.owner).toBe('assigned')
  })
})
