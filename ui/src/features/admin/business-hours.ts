/** A team's business hours as the editor holds them, the checks the server makes before it
 * stores them, and whether the team is open at an instant, in the browser.
 *
 * The rules are the server's (pytake/routing/_hours.py, rules 1-3): hours are wall-clock
 * times in the team's time zone; a range is [start, end) and "24:00" may end one; an end
 * earlier than its start (or "00:00") runs overnight into the next day and belongs to the day
 * it starts on; a holiday closes its date; an exception replaces its date's ranges (none:
 * closed). Rule 4 (the hour clocks skip or repeat) is not modelled here: around a DST change
 * "now open/closed" may be off for that hour, while the server, which routes, is exact. */

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const
export type Weekday = (typeof WEEKDAYS)[number]

export type Range = [start: string, end: string]

export interface Hours {
  weekly: Record<Weekday, Range[]>
  holidays: string[]
  exceptions: { date: string; ranges: Range[] }[]
}

const TIME = /^(\d\d):(\d\d)$/
const DATE = /^\d{4}-\d{2}-\d{2}$/

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x)

function rangesOf(value: unknown): Range[] {
  if (!Array.isArray(value)) return []
  return value.flatMap((pair): Range[] =>
    Array.isArray(pair) && pair.length === 2 && typeof pair[0] === 'string' && typeof pair[1] === 'string' ? [[pair[0], pair[1]]] : [],
  )
}

export function emptyHours(): Hours {
  return { weekly: { mon: [], tue: [], wed: [], thu: [], fri: [], sat: [], sun: [] }, holidays: [], exceptions: [] }
}

/** The team's stored `business_hours` (`{}` when none are set) as the editor holds them. */
export function hoursFromTeam(stored: unknown): Hours {
  const hours = emptyHours()
  if (!isRecord(stored)) return hours
  const weekly = isRecord(stored.weekly) ? stored.weekly : {}
  for (const day of WEEKDAYS) hours.weekly[day] = rangesOf(weekly[day])
  hours.holidays = Array.isArray(stored.holidays) ? stored.holidays.filter((d): d is string => typeof d === 'string') : []
  const exceptions = isRecord(stored.exceptions) ? stored.exceptions : {}
  hours.exceptions = Object.entries(exceptions).map(([date, ranges]) => ({ date, ranges: rangesOf(ranges) }))
  return hours
}

/** Whether nothing is set: saved as `{}`, which the server reads as "always open". */
export function isUnset(hours: Hours): boolean {
  return WEEKDAYS.every((d) => hours.weekly[d].length === 0) && hours.holidays.length === 0 && hours.exceptions.length === 0
}

/** The `business_hours` of a PATCH body. */
export function hoursBody(hours: Hours): Record<string, unknown> {
  if (isUnset(hours)) return {}
  const weekly: Record<string, Range[]> = {}
  for (const day of WEEKDAYS) if (hours.weekly[day].length > 0) weekly[day] = hours.weekly[day]
  return {
    weekly,
    holidays: [...hours.holidays],
    exceptions: Object.fromEntries(hours.exceptions.map((e) => [e.date, e.ranges])),
  }
}

/** Minutes from midnight, or null for a malformed time ("24:00" only as an end). */
export function minutesOf(value: string, end: boolean): number | null {
  const match = TIME.exec(value)
  if (!match) return null
  const h = Number(match[1])
  const m = Number(match[2])
  if (end && h === 24 && m === 0) return 24 * 60
  if (h > 23 || m > 59) return null
  return h * 60 + m
}

/** [start, end) in minutes from the start day's midnight (end may pass 1440), or null. */
function span([start, end]: Range): [number, number] | null {
  const s = minutesOf(start, false)
  let e = minutesOf(end, true)
  if (s === null || e === null || s === e) return null
  if (e < s) e += 24 * 60
  return [s, e]
}

export type RangeProblem = 'time' | 'empty' | 'overlap'

/** Each range's problem within a day's list, by index; the server refuses the same. */
export function rangeProblems(ranges: readonly Range[]): Record<number, RangeProblem> {
  const problems: Record<number, RangeProblem> = {}
  const spans: [number, number, number][] = []
  ranges.forEach((range, i) => {
    if (minutesOf(range[0], false) === null || minutesOf(range[1], true) === null) problems[i] = 'time'
    else {
      const sp = span(range)
      if (sp === null) problems[i] = 'empty'
      else spans.push([sp[0], sp[1], i])
    }
  })
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  for (let k = 1; k < spans.length; k++) {
    const [s2, , i2] = spans[k]!
    const [, e1] = spans[k - 1]!
    if (s2 < e1) problems[i2] = 'overlap'
  }
  return problems
}

export type HoursProblem = { where: 'weekly'; day: Weekday; index: number; problem: RangeProblem } | { where: 'exception'; index: number; range?: number; problem: RangeProblem | 'date' | 'duplicate' } | { where: 'holiday'; index: number; problem: 'date' }

/** Everything the server would refuse, so the editor can say where before saving. */
export function hoursProblems(hours: Hours): HoursProblem[] {
  const out: HoursProblem[] = []
  for (const day of WEEKDAYS) {
    for (const [index, problem] of Object.entries(rangeProblems(hours.weekly[day]))) out.push({ where: 'weekly', day, index: Number(index), problem })
  }
  hours.holidays.forEach((date, index) => {
    if (!validDate(date)) out.push({ where: 'holiday', index, problem: 'date' })
  })
  const seen = new Set<string>()
  hours.exceptions.forEach((e, index) => {
    if (!validDate(e.date)) out.push({ where: 'exception', index, problem: 'date' })
    else if (seen.has(e.date)) out.push({ where: 'exception', index, problem: 'duplicate' })
    seen.add(e.date)
    for (const [range, problem] of Object.entries(rangeProblems(e.ranges))) out.push({ where: 'exception', index, range: Number(range), problem })
  })
  return out
}

export function validDate(value: string): boolean {
  if (!DATE.test(value)) return false
  const d = new Date(`${value}T00:00:00Z`)
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(value)
}

/** The wall clock in ``zone`` at ``at``: the local date (ISO) and minutes since midnight. */
export function wallClock(at: Date, zone: string): { date: string; minutes: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at)
  const get = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '00'
  return { date: `${get('year')}-${get('month')}-${get('day')}`, minutes: Number(get('hour')) * 60 + Number(get('minute')) }
}

function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`)
  d.setUTCDate(d.getUTCDate() + days)
  return d.toISOString().slice(0, 10)
}

function weekdayOf(date: string): Weekday {
  // getUTCDay: 0 is Sunday; WEEKDAYS starts on Monday, as Python's date.weekday() does.
  return WEEKDAYS[(new Date(`${date}T00:00:00Z`).getUTCDay() + 6) % 7]!
}

/** The ranges that start on local ``date`` (rule 3). */
export function rangesOn(hours: Hours, date: string): Range[] {
  const exception = hours.exceptions.find((e) => e.date === date)
  if (exception) return exception.ranges
  if (hours.holidays.includes(date)) return []
  return hours.weekly[weekdayOf(date)]
}

/** Whether a team with these hours in ``zone`` is open at ``at``; a team without hours is
 * always open. Throws RangeError for a zone the browser does not know. */
export function isOpenAt(hours: Hours, zone: string, at: Date): boolean {
  if (isUnset(hours)) return true
  const { date, minutes } = wallClock(at, zone)
  for (const [day, offset] of [
    [addDays(date, -1), 24 * 60],
    [date, 0],
  ] as const) {
    for (const range of rangesOn(hours, day)) {
      const sp = span(range)
      if (sp && sp[0] <= minutes + offset && minutes + offset < sp[1]) return true
    }
  }
  return false
}

/** The IANA zones the browser knows, with ``extra`` (the team's own, UTC) if it lacks them. */
export function timeZones(...extra: string[]): string[] {
  const known = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : []
  return [...new Set([...known, 'UTC', ...extra])].sort()
}
