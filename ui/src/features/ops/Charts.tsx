import { memo, useMemo } from 'react'
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import { formatTime, getLocale, t, type MessageKey } from '@/lib/i18n'
import type { Point } from './api'
import { CHARTS, chartRows, formatValue, summarise, type ChartSpec } from './model'
import { TD, TH } from './parts'

const COLOURS = ['#047857', '#1d4ed8', '#b45309']

const lineName = (key: string) => t(`ops.line.${key}` as MessageKey)

/** One chart of the last hour, with a heading and its numbers in a table for those who do
 * not see the lines. */
const Chart = memo(function Chart({ chart, series }: { chart: ChartSpec; series: Point[] }) {
  const rows = useMemo(() => chartRows(series, chart), [series, chart])
  const summary = useMemo(() => summarise(series, chart), [series, chart])
  const title = t(`ops.chart.${chart.id}` as MessageKey)
  const headingId = `ops-chart-${chart.id}`
  const locale = getLocale()
  const format = (v: unknown) => formatValue(typeof v === 'number' ? v : null, chart.format, locale)
  return (
    <figure aria-labelledby={headingId} className="flex flex-col gap-2 rounded-lg bg-white p-3 shadow-sm">
      <h3 id={headingId} className="text-sm font-semibold">
        {title}
      </h3>
      {/* Hidden from assistive technology, and not focusable (no accessibility layer): the
          table below says the same in words. */}
      <div className="h-48" aria-hidden="true">
        <ResponsiveContainer width="100%" height="100%">
          <LineChart data={rows} margin={{ top: 4, right: 8, bottom: 0, left: 0 }} accessibilityLayer={false}>
            <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" />
            <XAxis
              dataKey="at"
              type="number"
              scale="time"
              domain={['dataMin', 'dataMax']}
              tickFormatter={(v: number) => formatTime(new Date(v))}
              fontSize={11}
            />
            <YAxis width={56} fontSize={11} tickFormatter={format} />
            <Tooltip labelFormatter={(v) => formatTime(new Date(Number(v)))} formatter={format} />
            <Legend />
            {chart.lines.map((line, i) => (
              <Line
                key={line.key}
                type="monotone"
                dataKey={line.key}
                name={lineName(line.key)}
                stroke={COLOURS[i % COLOURS.length]}
                dot={false}
                isAnimationActive={false}
                connectNulls
              />
            ))}
          </LineChart>
        </ResponsiveContainer>
      </div>
      <table className="w-full text-xs">
        <caption className="sr-only">{t('ops.chartTable', { title })}</caption>
        <thead>
          <tr>
            <th scope="col" className={TH}>{t('ops.series')}</th>
            <th scope="col" className={TH}>{t('ops.last')}</th>
            <th scope="col" className={TH}>{t('ops.min')}</th>
            <th scope="col" className={TH}>{t('ops.max')}</th>
          </tr>
        </thead>
        <tbody>
          {summary.map((s) => (
            <tr key={s.key} className="border-t border-slate-100">
              <th scope="row" className={`${TD} text-left font-normal`}>{lineName(s.key)}</th>
              <td className={`${TD} tabular-nums`}>{format(s.last)}</td>
              <td className={`${TD} tabular-nums`}>{format(s.min)}</td>
              <td className={`${TD} tabular-nums`}>{format(s.max)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  )
})

/** Charts of the last hour, one point per window, from the server's aggregates. */
export function Charts({ series, window }: { series: Point[]; window: number }) {
  return (
    <section aria-labelledby="ops-hour-title" className="flex flex-col gap-2">
      <h2 id="ops-hour-title" className="text-lg font-semibold">
        {t('ops.lastHour')}
      </h2>
      {series.length === 0 ? (
        <p className="text-sm text-slate-600">{t('ops.noSeries', { seconds: Math.round(window) })}</p>
      ) : null}
      <div className="grid gap-3 lg:grid-cols-2">
        {CHARTS.map((chart) => (
          <Chart key={chart.id} chart={chart} series={series} />
        ))}
      </div>
    </section>
  )
}
