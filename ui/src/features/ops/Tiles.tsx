import { getLocale, t, type MessageKey } from '@/lib/i18n'
import type { Point } from './api'
import { formatValue, TILES } from './model'

/** The numbers now, as labelled tiles (a description list: label, then value). */
export function Tiles({ current, window }: { current: Point | null; window: number }) {
  return (
    <section aria-labelledby="ops-now-title" className="flex flex-col gap-2">
      <div className="flex flex-wrap items-baseline gap-x-3">
        <h2 id="ops-now-title" className="text-lg font-semibold">
          {t('ops.now')}
        </h2>
        <p className="text-xs text-slate-600">{t('ops.nowHint', { seconds: Math.round(window) })}</p>
      </div>
      <dl className="grid grid-cols-2 gap-2 sm:grid-cols-3 lg:grid-cols-5">
        {TILES.map((tile) => {
          const label = t(`ops.tile.${tile.id}` as MessageKey)
          return (
            <div key={tile.id} className="rounded-lg bg-white p-3 shadow-sm" data-tile={tile.id}>
              <dt className="text-xs text-slate-600">{label}</dt>
              <dd className="text-xl font-semibold tabular-nums" data-testid={`ops-tile-${tile.id}`}>
                {formatValue(current ? tile.read(current) : null, tile.format, getLocale())}
              </dd>
            </div>
          )
        })}
      </dl>
    </section>
  )
}
