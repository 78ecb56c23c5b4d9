import { describe, expect, it } from 'vitest'
import { emptyHours, hoursBody, hoursFromTeam, hoursProblems, isOpenAt, rangeProblems, timeZones, wallClock, type Hours } from './business-hours'

const weekdays: Hours = hoursFromTeam({
  weekly: { mon: [['09:00', '18:00']], tue: [['09:00', '12:00'], ['13:00', '18:00']], fri: [['22:00', '02:00']] },
  holidays: ['2026-12-25'],
  exceptions: { '2026-12-24': [['09:00', '12:00']], '2026-12-31': [] },
})

describe('hoursFromTeam and hoursBody', () => {
  it('round-trips what the server stores', () => {
    expect(hoursBody(weekdays)).toEqual({
      weekly: { mon: [['09:00', '18:00']], tue: [['09:00', '12:00'], ['13:00', '18:00']], fri: [['22:00', '02:00']] },
      holidays: ['2026-12-25'],
      exceptions: { '2026-12-24': [['09:00', '12:00']], '2026-12-31': [] },
    })
  })

  it('reads {} (no hours) and saves nothing set as {}', () => {
    expect(hoursFromTeam({})).toEqual(emptyHours())
    expect(hoursBody(emptyHours())).toEqual({})
  })
})

describe('checks', () => {
  it('refuses what the server refuses', () => {
    expect(rangeProblems([['9:00', '18:00']])).toEqual({ 0: 'time' })
    expect(rangeProblems([['09:00', '24:00']])).toEqual({})
    expect(rangeProblems([['24:00', '10:00']])).toEqual({ 0: 'time' })
    expect(rangeProblems([['10:00', '10:00']])).toEqual({ 0: 'empty' })
    expect(rangeProblems([['13:00', '18:00'], ['09:00', '14:00']])).toEqual({ 0: 'overlap' })
    expect(rangeProblems([['09:00', '12:00'], ['12:00', '13:00']])).toEqual({})
    expect(rangeProblems([['22:00', '02:00'], ['23:00', '23:30']])).toEqual({ 1: 'overlap' })
  })

  it('names the day, holiday or exception at fault', () => {
    const bad = hoursFromTeam({ weekly: { wed: [['08:00', '08:00']] }, holidays: ['2026-02-30'], exceptions: { '2026-01-02': [['x', '10:00']] } })
    bad.exceptions.push({ date: '2026-01-02', ranges: [] })
    expect(hoursProblems(bad)).toEqual([
      { where: 'weekly', day: 'wed', index: 0, problem: 'empty' },
      { where: 'holiday', index: 0, problem: 'date' },
      { where: 'exception', index: 0, range: 0, problem: 'time' },
      { where: 'exception', index: 1, problem: 'duplicate' },
    ])
    expect(hoursProblems(weekdays)).toEqual([])
  })
})

describe('isOpenAt', () => {
  const zone = 'America/Sao_Paulo' // UTC-3 all year since 2019
  const at = (local: string) => new Date(`${local}-03:00`)

  it('reads the wall clock in the team zone', () => {
    expect(wallClock(new Date('2026-03-02T12:30:00Z'), zone)).toEqual({ date: '2026-03-02', minutes: 9 * 60 + 30 })
    expect(wallClock(new Date('2026-03-02T12:30:00Z'), 'Asia/Tokyo')).toEqual({ date: '2026-03-02', minutes: 21 * 60 + 30 })
  })

  it('follows weekly ranges, [start, end)', () => {
    expect(isOpenAt(weekdays, zone, at('2026-03-02T09:00:00'))).toBe(true) // a Monday
    expect(isOpenAt(weekdays, zone, at('2026-03-02T08:59:00'))).toBe(false)
    expect(isOpenAt(weekdays, zone, at('2026-03-02T18:00:00'))).toBe(false)
    expect(isOpenAt(weekdays, zone, at('2026-03-03T12:30:00'))).toBe(false) // Tuesday's lunch
    expect(isOpenAt(weekdays, zone, at('2026-03-04T10:00:00'))).toBe(false) // Wednesday: none
  })

  it('runs an overnight range into the next day', () => {
    expect(isOpenAt(weekdays, zone, at('2026-03-06T23:00:00'))).toBe(true) // Friday night
    expect(isOpenAt(weekdays, zone, at('2026-03-07T01:59:00'))).toBe(true) // Saturday early
    expect(isOpenAt(weekdays, zone, at('2026-03-07T02:00:00'))).toBe(false)
  })

  it('closes holidays and applies exceptions', () => {
    const christmasEveMonday = hoursFromTeam({ ...hoursBody(weekdays), exceptions: {}, holidays: ['2026-03-09'] })
    expect(isOpenAt(christmasEveMonday, zone, at('2026-03-09T10:00:00'))).toBe(false)
    const special = hoursFromTeam({ weekly: {}, exceptions: { '2026-03-04': [['09:00', '12:00']] } })
    expect(isOpenAt(special, zone, at('2026-03-04T10:00:00'))).toBe(true)
    expect(isOpenAt(special, zone, at('2026-03-04T13:00:00'))).toBe(false)
  })

  it('is the same instant open in one zone and closed in another', () => {
    const instant = new Date('2026-03-02T13:00:00Z') // 10:00 in São Paulo, 22:00 in Tokyo
    expect(isOpenAt(weekdays, zone, instant)).toBe(true)
    expect(isOpenAt(weekdays, 'Asia/Tokyo', instant)).toBe(false)
  })

  it('says a team without hours is always open', () => {
    expect(isOpenAt(emptyHours(), zone, new Date())).toBe(true)
  })
})

describe('timeZones', () => {
  it('lists the browser zones with UTC and the team zone, sorted', () => {
    const zones = timeZones('Etc/GMT+3')
    expect(zones).toContain('America/Sao_Paulo')
    expect(zones).toContain('UTC')
    expect(zones).toContain('Etc/GMT+3')
    expect([...zones].sort()).toEqual(zones)
  })
})
