/** The node form's inputs: labelled, with their error (the form's own check, else the
 * server validator's) and, for WhatsApp's limited texts, a character counter. */

import { useId, type ReactNode } from 'react'
import { useFieldArray, useWatch, type Control, type FieldPath, type UseFormRegister } from 'react-hook-form'
import { t } from '@/lib/i18n'
import type { NodeFormValues } from './form-model'

export const INPUT = 'w-full rounded-md border border-slate-300 bg-white px-2 py-1 text-sm outline-none focus:ring-2 focus:ring-emerald-500 aria-[invalid=true]:border-red-500'

export interface FieldContext {
  control: Control<NodeFormValues>
  register: UseFormRegister<NodeFormValues>
  /** Messages by field path: the form's check first, the server's problems after. */
  errorOf: (path: string) => string | undefined
}

function Counter({ control, name, max }: { control: Control<NodeFormValues>; name: FieldPath<NodeFormValues>; max: number }) {
  const value = useWatch({ control, name })
  const length = typeof value === 'string' ? [...value].length : 0
  return (
    <span aria-live="polite" className={`text-xs tabular-nums ${length > max ? 'font-semibold text-red-700' : 'text-slate-600'}`}>
      {t('flows.counter', { length, max })}
    </span>
  )
}

interface Props {
  ctx: FieldContext
  name: FieldPath<NodeFormValues>
  label: string
  max?: number | undefined
  hint?: string | undefined
}

function Frame({ id, label, error, hint, counter, children }: { id: string; label: string; error?: string | undefined; hint?: string | undefined; counter?: ReactNode; children: ReactNode }) {
  return (
    <div className="flex flex-col gap-0.5">
      <div className="flex items-baseline justify-between gap-2">
        <label htmlFor={id} className="text-xs font-medium text-slate-700">
          {label}
        </label>
        {counter}
      </div>
      {children}
      {hint ? (
        <p id={`${id}-hint`} className="text-xs text-slate-600">
          {hint}
        </p>
      ) : null}
      {error ? (
        <p id={`${id}-error`} className="text-xs text-red-700">
          {error}
        </p>
      ) : null}
    </div>
  )
}

function describedBy(id: string, error: string | undefined, hint: string | undefined): string | undefined {
  return [error ? `${id}-error` : null, hint ? `${id}-hint` : null].filter(Boolean).join(' ') || undefined
}

export function TextInput({ ctx, name, label, max, hint }: Props) {
  const id = useId()
  const error = ctx.errorOf(name)
  return (
    <Frame id={id} label={label} error={error} hint={hint} counter={max ? <Counter control={ctx.control} name={name} max={max} /> : null}>
      <input id={id} className={INPUT} autoComplete="off" aria-invalid={error ? true : undefined} aria-describedby={describedBy(id, error, hint)} {...ctx.register(name)} />
    </Frame>
  )
}

export function TextArea({ ctx, name, label, max, hint, rows = 3 }: Props & { rows?: number }) {
  const id = useId()
  const error = ctx.errorOf(name)
  return (
    <Frame id={id} label={label} error={error} hint={hint} counter={max ? <Counter control={ctx.control} name={name} max={max} /> : null}>
      <textarea id={id} rows={rows} className={`${INPUT} font-[inherit]`} aria-invalid={error ? true : undefined} aria-describedby={describedBy(id, error, hint)} {...ctx.register(name)} />
    </Frame>
  )
}

export function Checkbox({ ctx, name, label }: Props) {
  const id = useId()
  return (
    <div className="flex items-center gap-2">
      <input id={id} type="checkbox" className="h-4 w-4 accent-emerald-700" {...ctx.register(name)} />
      <label htmlFor={id} className="text-xs font-medium text-slate-700">
        {label}
      </label>
    </div>
  )
}

export function Select({ ctx, name, label, options }: Props & { options: readonly string[] }) {
  const id = useId()
  const error = ctx.errorOf(name)
  return (
    <Frame id={id} label={label} error={error}>
      <select id={id} className={INPUT} aria-invalid={error ? true : undefined} aria-describedby={describedBy(id, error, undefined)} {...ctx.register(name)}>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </Frame>
  )
}

const SMALL_BUTTON = 'rounded border border-slate-300 px-2 py-0.5 text-xs hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-emerald-600 disabled:text-slate-400'

/** Reply buttons: up to `most` (WhatsApp allows 3), each an id (its outcome) and a title. */
export function ButtonsEditor({ ctx, most, titleMax }: { ctx: FieldContext; most: number; titleMax: number }) {
  const { fields, append, remove } = useFieldArray({ control: ctx.control, name: 'buttons' })
  const error = ctx.errorOf('buttons')
  return (
    <fieldset className="flex flex-col gap-2 rounded border border-slate-200 p-2">
      <legend className="px-1 text-xs font-medium text-slate-700">{t('flows.buttonsLegend', { count: fields.length, max: most })}</legend>
      {fields.map((field, i) => (
        <div key={field.id} className="flex flex-col gap-1 border-b border-slate-100 pb-2 last:border-0">
          <TextInput ctx={ctx} name={`buttons.${i}.title`} label={t('flows.buttonTitle', { n: i + 1 })} max={titleMax} />
          <TextInput ctx={ctx} name={`buttons.${i}.id`} label={t('flows.buttonId', { n: i + 1 })} />
          <button type="button" className={`${SMALL_BUTTON} self-end`} onClick={() => remove(i)}>
            {t('flows.removeButton', { n: i + 1 })}
          </button>
        </div>
      ))}
      {error ? <p className="text-xs text-red-700">{error}</p> : null}
      <button
        type="button"
        className={SMALL_BUTTON}
        disabled={fields.length >= most}
        onClick={() => append({ id: `option_${String(fields.length + 1)}`, title: t('flows.newOption', { n: fields.length + 1 }) })}
      >
        {t('flows.addButton')}
      </button>
    </fieldset>
  )
}

function RowsEditor({ ctx, section, limits }: { ctx: FieldContext; section: number; limits: { rowTitle: number; rowDescription: number } }) {
  const { fields, append, remove } = useFieldArray({ control: ctx.control, name: `sections.${section}.rows` })
  return (
    <div className="flex flex-col gap-2">
      {fields.map((field, j) => (
        <div key={field.id} className="flex flex-col gap-1 rounded bg-slate-50 p-1.5">
          <TextInput ctx={ctx} name={`sections.${section}.rows.${j}.title`} label={t('flows.rowTitle', { n: j + 1 })} max={limits.rowTitle} />
          <TextInput ctx={ctx} name={`sections.${section}.rows.${j}.id`} label={t('flows.rowId', { n: j + 1 })} />
          <TextInput ctx={ctx} name={`sections.${section}.rows.${j}.description`} label={t('flows.rowDescription', { n: j + 1 })} max={limits.rowDescription} />
          <button type="button" className={`${SMALL_BUTTON} self-end`} onClick={() => remove(j)}>
            {t('flows.removeRow', { n: j + 1 })}
          </button>
        </div>
      ))}
      <button type="button" className={SMALL_BUTTON} onClick={() => append({ id: `row_${String(section + 1)}_${String(fields.length + 1)}`, title: t('flows.newOption', { n: fields.length + 1 }), description: '' })}>
        {t('flows.addRow')}
      </button>
    </div>
  )
}

/** A list's sections and rows: at most `mostRows` rows in all (WhatsApp allows 10). */
export function SectionsEditor({ ctx, mostRows, limits }: { ctx: FieldContext; mostRows: number; limits: { sectionTitle: number; rowTitle: number; rowDescription: number } }) {
  const { fields, append, remove } = useFieldArray({ control: ctx.control, name: 'sections' })
  const sections = useWatch({ control: ctx.control, name: 'sections' })
  const rows = sections.reduce((n, s) => n + s.rows.length, 0)
  const error = ctx.errorOf('sections')
  return (
    <fieldset className="flex flex-col gap-2 rounded border border-slate-200 p-2">
      <legend className="px-1 text-xs font-medium text-slate-700">{t('flows.rowsLegend', { count: rows, max: mostRows })}</legend>
      {fields.map((field, i) => (
        <div key={field.id} className="flex flex-col gap-1 border-b border-slate-200 pb-2 last:border-0">
          <TextInput ctx={ctx} name={`sections.${i}.title`} label={t('flows.sectionTitle', { n: i + 1 })} max={limits.sectionTitle} />
          <RowsEditor ctx={ctx} section={i} limits={limits} />
          <button type="button" className={`${SMALL_BUTTON} self-end`} onClick={() => remove(i)}>
            {t('flows.removeSection', { n: i + 1 })}
          </button>
        </div>
      ))}
      {error ? <p className="text-xs text-red-700">{error}</p> : null}
      <button type="button" className={SMALL_BUTTON} onClick={() => append({ title: '', rows: [] })}>
        {t('flows.addSection')}
      </button>
    </fieldset>
  )
}
