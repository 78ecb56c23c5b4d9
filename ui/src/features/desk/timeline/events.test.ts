import { describe, expect, it } from 'vitest'
import { appendEvents, EMPTY_LOG, eventViews, mentionedTeams, type ApiEvent } from './events'

let seq = 0
function ev(type: string, payload: Record<string, unknown>, at = '2026-03-01T12:00:00+00:00'): ApiEvent {
  seq += 1
  return { id: seq, seq, type, payload, at }
}

function transition(type: string, from: string, to: string, team: string | null, agent: string | null, event: Record<string, unknown>, at?: string) {
  return ev(type, { from, to, team, agent, event }, at)
}

describe('the event log as timeline entries', () => {
  it('reads every transition the actor logs and leaves out the queue back and forth and the messages', () => {
    seq = 0
    const log = [
      ev('customer_message', { message_id: 1, type: 'text' }, '2026-03-01T11:59:00+00:00'),
      transition('handoff', 'flow', 'queued', '3', null, { team: '3', priority: 0, skills: [] }, '2026-03-01T12:00:00+00:00'),
      ev('note', { text: 'Cliente quer 2ª via', by: 'bot' }, '2026-03-01T12:00:00+00:00'),
      transition('offer', 'queued', 'offered', '3', '12', { agent: '12' }),
      transition('decline', 'offered', 'queued', '3', null, { agent: '12' }),
      transition('offer_expired', 'offered', 'queued', '3', null, { agent: '13' }),
      transition('accept', 'offered', 'assigned', '3', '12', { agent: '12' }, '2026-03-01T12:01:00+00:00'),
      ev('agent_message', { message_id: 2, by: '12' }),
      ev('bot_message', {}),
      transition('transfer_to_agent', 'assigned', 'assigned', '3', '13', { agent: '13', team: '3' }, '2026-03-01T12:02:00+00:00'),
      ev('note', { text: 'VIP, cuidado', by: '12' }, '2026-03-01T12:02:00+00:00'),
      transition('transfer_to_team', 'assigned', 'queued', '4', null, { team: '4', priority: null, skills: null }, '2026-03-01T12:03:00+00:00'),
      transition('requeue', 'assigned', 'queued', '4', null, { reason: 'agent_offline' }),
      transition('reassign', 'queued', 'assigned', '4', '14', { agent: '14', by: '1', team: null }),
      transition('return_to_flow', 'assigned', 'flow', '4', null, {}),
      transition('resolve', 'assigned', 'resolved', '4', null, { by: '14' }),
      transition('customer_message', 'resolved', 'queued', '4', null, {}),
    ]
    const views = eventViews(log)
    expect(views.map((v) => v.kind)).toEqual([
      'handoff', 'accepted', 'transferred', 'transferred', 'requeued', 'assigned', 'returned_to_bot', 'resolved', 'reopened',
    ])
    expect(views[0]).toMatchObject({ kind: 'handoff', byBot: true, team: '3', note: { text: 'Cliente quer 2ª via', by: { kind: 'bot' } } })
    expect(views[0]?.at).toBe(Date.parse('2026-03-01T12:00:00Z'))
    expect(views[1]).toMatchObject({ kind: 'accepted', agent: '12' })
    expect(views[2]).toMatchObject({ kind: 'transferred', agent: '13', team: '3', note: { text: 'VIP, cuidado', by: { kind: 'agent', id: '12' } } })
    expect(views[3]).toMatchObject({ kind: 'transferred', agent: null, team: '4', note: null })
    expect(views[4]).toMatchObject({ kind: 'requeued', reason: 'agent_offline' })
    expect(views[5]).toMatchObject({ kind: 'assigned', agent: '14', by: { kind: 'agent', id: '1' } })
    expect(views[7]).toMatchObject({ kind: 'resolved', by: { kind: 'agent', id: '14' } })
    expect(mentionedTeams(log).sort()).toEqual(['3', '4'])
  })

  it('shows a note given on its own as a note, and says what each labels change added and removed', () => {
    seq = 0
    const views = eventViews([
      ev('note', { text: 'ligar amanhã', by: '12' }),
      ev('labels', { labels: ['boleto'], by: '12' }),
      ev('labels', { labels: ['boleto', 'vip'], by: '12' }),
      ev('labels', { labels: ['vip'], by: '13' }),
      ev('priority', { priority: 10, by: '12' }),
    ])
    expect(views).toEqual([
      expect.objectContaining({ kind: 'note', note: { text: 'ligar amanhã', by: { kind: 'agent', id: '12' } } }),
      expect.objectContaining({ kind: 'labels', added: ['boleto'], removed: [] }),
      expect.objectContaining({ kind: 'labels', added: ['vip'], removed: [] }),
      expect.objectContaining({ kind: 'labels', added: [], removed: ['boleto'], by: { kind: 'agent', id: '13' } }),
      expect.objectContaining({ kind: 'priority', priority: 10 }),
    ])
  })

  it('reads pages by seq, each event once', () => {
    seq = 0
    const [a, b, c] = [ev('note', { text: 'a' }), ev('note', { text: 'b' }), ev('note', { text: 'c' })] as [ApiEvent, ApiEvent, ApiEvent]
    let log = appendEvents(EMPTY_LOG, [b, a])
    expect(log.events.map((e) => e.seq)).toEqual([1, 2])
    expect(log.lastSeq).toBe(2)
    log = appendEvents(log, [b, c])
    expect(log.events.map((e) => e.seq)).toEqual([1, 2, 3])
    expect(appendEvents(log, [a, b, c])).toBe(log)
  })
})
