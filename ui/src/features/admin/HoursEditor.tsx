import { useQueryClient } from '@tanstack/react-query'
import { useEffect, useId, useMemo, useState, type FormEvent } from 'react'
import { Button } from '@/components'
import { apiFetch, isApiError } from '@/lib/api'
import { t, type MessageKey } from '@/lib/i18n'
import {
  WEEKDAYS,
  hoursBody,
  hoursFromTeam,
  hoursProblems,
  isOpenAt,
  isUnset,
  timeZones,
  type Hours,
  type HoursProblem,
  type Range,
} from './business-hours'
import { errorText, keys, type Team } from './api'
import { Alert, FIELD, Notice, SelectField } from './parts'

const dayKey = (day: string) => `admin.day.${day}` as MessageKey
const problemKey = (problem: string) => `admin.hoursProblem.${problem}` as MessageKey

/** Ticks every ``ms`` so that "now open/closed" follows the clock. */
function useNow(ms = 30_000): Date {
  const [now, setNow] = useState(() => new Date())
  useEffect(() => {
    const timer = setInterval(() => setNow(new Date()), ms)
    return () => clearInterval(timer)
  }, [ms])
  return now
}

/** Whether the team, as saved, is open now in its zone; null when the browser does not know
 * the zone. */
export function OpenNow({ team }: { team: Team }) {
  const now = useNow()
  const hours = useMemo(() => hoursFromTeam(team.business_hours), [team.business_hours])
  let open: boolean
  try {
    open = isOpenAt(hours, team.timezone, now)
  } catch {
    return null
  }
  return (
    <p role="status" className={`text-sm font-medium ${open ? 'text-emerald-800' : 'text-amber-800'}`}>
      {t(open ? 'admin.nowOpen' : 'admin.nowClosed', { zone: team.timezone })}
      {isUnset(hours) ? <span className="ml-1 font-normal text-slate-600">{t('admin.alwaysOpen')}</span> : null}
    </p>
  )
}

/** The team's time zone, weekly hours, holidays and exceptions, saved in one PATCH. */
export function HoursEditor({ team }: { team: Team }) {
  const queryClient = useQueryClient()
  const [zone, setZone] = useState(team.timezone)
  const [hours, setHours] = useState<Hours>(() => hoursFromTeam(team.business_hours))
  const [checked, setChecked] = useState(false)
  const [busy, setBusy] = useState(false)
  const [saved, setSaved] = useState(false)
  const [formError, setFormError] = useState<string | null>(null)
  const [zoneError, setZoneError] = useState<string | undefined>(undefined)
  const zones = useMemo(() => timeZones(team.timezone), [team.timezone])
  const problems = checked ? hoursProblems(hours) : []

  const change = (next: Hours) => {
    setHours(next)
    setSaved(false)
  }
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setChecked(true)
    setSaved(false)
    setFormError(null)
    setZoneError(undefined)
    if (hoursProblems(hours).length > 0) {
      setFormError(t('admin.hoursInvalid'))
      return
    }
    setBusy(true)
    try {
      await apiFetch<Team>(`/api/v1/teams/${String(team.id)}`, { method: 'PATCH', body: { timezone: zone, business_hours: hoursBody(hours) } })
      setSaved(true)
      void queryClient.invalidateQueries({ queryKey: keys.teams })
    } catch (error) {
      if (isApiError(error) && error.field === 'timezone') setZoneError(error.detail)
      else setFormError(errorText(error))
    } finally {
      setBusy(false)
    }
  }
  const weeklyProblem = (day: string, index: number) =>
    problems.find((p): p is Extract<HoursProblem, { where: 'weekly' }> => p.where === 'weekly' && p.day === day && p.index === index)?.problem
  const exceptionProblem = (index: number, range?: number) =>
    problems.find((p): p is Extract<HoursProblem, { where: 'exception' }> => p.where === 'exception' && p.index === index && p.range === range)?.problem

  return (
    <form aria-labelledby="admin-hours-title" className="flex flex-col gap-3 border-t border-slate-200 pt-3" noValidate onSubmit={(e) => void submit(e)}>
      <h4 id="admin-hours-title" className="font-medium">
        {t('admin.hours')}
      </h4>
      <OpenNow team={team} />
      <p className="text-xs text-slate-600">{t('admin.hoursIntro')}</p>
      <SelectField
        label={t('admin.hoursZone')}
        value={zone}
        error={zoneError}
        className="max-w-xs"
        onChange={(e) => {
          setZone(e.target.value)
          setSaved(false)
        }}
      >
        {zones.map((z) => (
          <option key={z} value={z}>
            {z}
          </option>
        ))}
      </SelectField>
      <div className="grid gap-2 lg:grid-cols-2">
        {WEEKDAYS.map((day) => (
          <fieldset key={day} className="rounded-md border border-slate-200 p-2">
            <legend className="px-1 text-sm font-medium">{t(dayKey(day))}</legend>
            <RangesEditor
              where={t(dayKey(day))}
              ranges={hours.weekly[day]}
              problem={(i) => weeklyProblem(day, i)}
              onChange={(ranges) => change({ ...hours, weekly: { ...hours.weekly, [day]: ranges } })}
            />
          </fieldset>
        ))}
      </div>
      <Button
        type="button"
        variant="secondary"
        size="sm"
        className="self-start"
        onClick={() => change({ ...hours, weekly: { ...hours.weekly, tue: hours.weekly.mon, wed: hours.weekly.mon, thu: hours.weekly.mon, fri: hours.weekly.mon } })}
      >
        {t('admin.copyToWeekdays')}
      </Button>
      <fieldset className="flex flex-col gap-2 rounded-md border border-slate-200 p-2">
        <legend className="px-1 text-sm font-medium">{t('admin.holidays')}</legend>
        <p className="text-xs text-slate-600">{t('admin.holidaysHint')}</p>
        {hours.holidays.map((date, i) => (
          <DateRow
            key={i}
            label={t('admin.holiday', { n: i + 1 })}
            value={date}
            problem={problems.some((p) => p.where === 'holiday' && p.index === i) ? 'date' : undefined}
            removeLabel={t('admin.removeHoliday', { n: i + 1 })}
            onChange={(value) => change({ ...hours, holidays: hours.holidays.map((d, k) => (k === i ? value : d)) })}
            onRemove={() => change({ ...hours, holidays: hours.holidays.filter((_, k) => k !== i) })}
          />
        ))}
        <Button type="button" variant="secondary" size="sm" className="self-start" onClick={() => change({ ...hours, holidays: [...hours.holidays, ''] })}>
          {t('admin.addHoliday')}
        </Button>
      </fieldset>
      <fieldset className="flex flex-col gap-2 rounded-md border border-slate-200 p-2">
        <legend className="px-1 text-sm font-medium">{t('admin.exceptions')}</legend>
        <p className="text-xs text-slate-600">{t('admin.exceptionsHint')}</p>
        {hours.exceptions.map((exception, i) => {
          const update = (next: Partial<{ date: string; ranges: Range[] }>) =>
            change({ ...hours, exceptions: hours.exceptions.map((x, k) => (k === i ? { ...x, ...next } : x)) })
          return (
            <div key={i} className="flex flex-col gap-1 rounded border border-slate-100 p-2">
              <DateRow
                label={t('admin.exceptionDate', { n: i + 1 })}
                value={exception.date}
                problem={exceptionProblem(i)}
                removeLabel={t('admin.removeException', { n: i + 1 })}
                onChange={(date) => update({ date })}
                onRemove={() => change({ ...hours, exceptions: hours.exceptions.filter((_, k) => k !== i) })}
              />
              <RangesEditor where={t('admin.exceptionWhere', { n: i + 1 })} ranges={exception.ranges} problem={(r) => exceptionProblem(i, r)} onChange={(ranges) => update({ ranges })} />
            </div>
          )
        })}
        <Button type="button" variant="secondary" size="sm" className="self-start" onClick={() => change({ ...hours, exceptions: [...hours.exceptions, { date: '', ranges: [] }] })}>
          {t('admin.addException')}
        </Button>
      </fieldset>
      <Alert>{formError}</Alert>
      {saved ? <Notice>{t('admin.saved')}</Notice> : null}
      <Button type="submit" className="self-start" disabled={busy}>
        {t('admin.saveHours')}
      </Button>
    </form>
  )
}

/** A day's ranges: each an "opens"/"closes" pair of HH:MM fields, with add and remove. */
function RangesEditor({ where, ranges, problem, onChange }: { where: string; ranges: Range[]; problem: (index: number) => string | undefined; onChange: (ranges: Range[]) => void }) {
  const id = useId()
  return (
    <div className="flex flex-col gap-1">
      {ranges.length === 0 ? <p className="text-xs text-slate-600">{t('admin.closedAllDay')}</p> : null}
      {ranges.map((range, i) => {
        const why = problem(i)
        const errorId = `${id}-${String(i)}-error`
        const field = (end: 0 | 1) => (
          <input
            aria-label={t(end ? 'admin.closes' : 'admin.opens', { where, n: i + 1 })}
            value={range[end]}
            inputMode="numeric"
            placeholder="HH:MM"
            maxLength={5}
            autoComplete="off"
            aria-invalid={why ? true : undefined}
            aria-describedby={why ? errorId : undefined}
            onChange={(e) => onChange(ranges.map((r, k) => (k === i ? (end ? [r[0], e.target.value] : [e.target.value, r[1]]) : r)))}
            className={`${FIELD} w-20 font-mono ${why ? 'border-red-500' : ''}`}
          />
        )
        return (
          <div key={i} className="flex flex-wrap items-center gap-1">
            {field(0)}
            <span aria-hidden="true">–</span>
            {field(1)}
            <Button type="button" size="sm" variant="secondary" aria-label={t('admin.removeRange', { where, n: i + 1 })} onClick={() => onChange(ranges.filter((_, k) => k !== i))}>
              {t('admin.remove')}
            </Button>
            {why ? (
              <p id={errorId} className="w-full text-xs text-red-600">
                {t(problemKey(why))}
              </p>
            ) : null}
          </div>
        )
      })}
      <Button
        type="button"
        size="sm"
        variant="secondary"
        className="self-start"
        aria-label={t('admin.addRangeTo', { where })}
        onClick={() => onChange([...ranges, ranges.length === 0 ? ['09:00', '18:00'] : ['', '']])}
      >
        {t('admin.addRange')}
      </Button>
    </div>
  )
}

function DateRow({ label, value, problem, removeLabel, onChange, onRemove }: { label: string; value: string; problem: string | undefined; removeLabel: string; onChange: (value: string) => void; onRemove: () => void }) {
  const id = useId()
  return (
    <div className="flex flex-wrap items-end gap-2">
      <div className="flex flex-col gap-1">
        <label htmlFor={id} className="text-sm text-slate-700">
          {label}
        </label>
        <input
          id={id}
          type="date"
          value={value}
          aria-invalid={problem ? true : undefined}
          aria-describedby={problem ? `${id}-error` : undefined}
          onChange={(e) => onChange(e.target.value)}
          className={`${FIELD} ${problem ? 'border-red-500' : ''}`}
        />
      </div>
      <Button type="button" size="sm" variant="secondary" aria-label={removeLabel} onClick={onRemove}>
        {t('admin.remove')}
      </Button>
      {problem ? (
        <p id={`${id}-error`} className="w-full text-xs text-red-600">
          {t(problemKey(problem))}
        </p>
      ) : null}
    </div>
  )
}
