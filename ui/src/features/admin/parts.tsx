import { useId, type ComponentPropsWithRef, type ReactNode } from 'react'
import { useMutation } from '@tanstack/react-query'
import { Button, Dialog } from '@/components'
import { apiFetch } from '@/lib/api'
import { t } from '@/lib/i18n'
import { errorText } from './api'

export const FIELD = 'rounded-md border border-slate-300 bg-white px-3 py-2 text-sm outline-none focus:ring-2 focus:ring-emerald-500'
export const TH = 'px-2 py-1.5 text-left text-xs font-semibold text-slate-600'
export const TD = 'px-2 py-1.5 align-top'

/** A message the page must be told (a refusal, a failure): read out when it appears. */
export function Alert({ children }: { children: ReactNode }) {
  if (!children) return null
  return (
    <p role="alert" className="rounded-md bg-red-50 p-2 text-sm text-red-800">
      {children}
    </p>
  )
}

/** A success worth a short line. */
export function Notice({ children }: { children: ReactNode }) {
  return (
    <p role="status" className="text-sm text-emerald-800">
      {children}
    </p>
  )
}

interface SelectFieldProps extends ComponentPropsWithRef<'select'> {
  label: string
  error?: string | undefined
  hint?: string | undefined
  children: ReactNode
}

/** A labelled select with its error and hint wired like TextField's. */
export function SelectField({ label, error, hint, id, children, className, ...select }: SelectFieldProps) {
  const autoId = useId()
  const selectId = id ?? autoId
  const errorId = `${selectId}-error`
  const hintId = `${selectId}-hint`
  const describedBy = [error ? errorId : null, hint ? hintId : null].filter(Boolean).join(' ') || undefined
  return (
    <div className="flex flex-col gap-1">
      <label htmlFor={selectId} className="text-sm font-medium text-slate-700">
        {label}
      </label>
      <select
        id={selectId}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy}
        className={`${FIELD} ${className ?? ''}`}
        {...select}
      >
        {children}
      </select>
      {hint ? (
        <p id={hintId} className="text-xs text-slate-500">
          {hint}
        </p>
      ) : null}
      {error ? (
        <p id={errorId} className="text-xs text-red-600">
          {error}
        </p>
      ) : null}
    </div>
  )
}

interface ConfirmProps {
  open: boolean
  onOpenChange: (open: boolean) => void
  title: string
  children: ReactNode
  confirmLabel: string
  onConfirm: () => void
  busy?: boolean
  error?: string | null
}

/** A yes-or-cancel question before a change that is hard to take back. */
export function ConfirmDialog({ open, onOpenChange, title, children, confirmLabel, onConfirm, busy, error }: ConfirmProps) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange} title={title} closeLabel={t('admin.cancel')}>
      <div className="flex flex-col gap-3 text-sm">
        {children}
        <Alert>{error}</Alert>
        <Button variant="danger" disabled={busy} onClick={onConfirm}>
          {confirmLabel}
        </Button>
      </div>
    </Dialog>
  )
}

/** "Load more" under a cursor-paginated list. */
export function LoadMore({ hasMore, loading, onClick }: { hasMore: boolean; loading: boolean; onClick: () => void }) {
  if (!hasMore) return null
  return (
    <Button variant="secondary" className="mt-3 self-start" disabled={loading} onClick={onClick}>
      {loading ? t('common.loading') : t('admin.loadMore')}
    </Button>
  )
}

/** A secret shown once (a set-password token or a temporary password), with a copy button. */
export function OneTimeSecret({ label, value, hint }: { label: string; value: string; hint: string }) {
  const id = useId()
  return (
    <div className="flex flex-col gap-1 rounded-md border border-amber-300 bg-amber-50 p-3">
      <label htmlFor={id} className="text-sm font-medium text-slate-800">
        {label}
      </label>
      <div className="flex gap-2">
        <input id={id} readOnly value={value} className={`${FIELD} min-w-0 flex-1 font-mono`} onFocus={(e) => e.target.select()} />
        <Button
          variant="secondary"
          onClick={() => {
            void navigator.clipboard?.writeText(value)
          }}
        >
          {t('admin.copy')}
        </Button>
      </div>
      <p className="text-xs text-slate-700">{hint}</p>
    </div>
  )
}

/** A page's heading with, on its right, the page's main action (a "New …" button). */
export function PageHeading({ id, title, children }: { id: string; title: string; children?: ReactNode }) {
  return (
    <div className="flex flex-wrap items-center gap-3">
      <h2 id={id} className="text-lg font-semibold">
        {title}
      </h2>
      {children ? <div className="ml-auto flex flex-wrap gap-2">{children}</div> : null}
    </div>
  )
}

interface TextAreaFieldProps extends ComponentPropsWithRef<'textarea'> {
  label: string
  error?: string | undefined
  hint?: string | undefined
}

/** A labelled textarea with its error and hint wired like TextField's. */
export function TextAreaField({ label, error, hint, id, className, ...area }: TextAreaFieldProps) {
  const autoId = useId()
  const areaId = id ?? autoId
  const errorId = `${areaId}-error`
  const hintId = `${areaId}-hint`
  const describedBy = [error ? errorId : null, hint ? hintId : null].filter(Boolean).join(' ') || undefined
  return (
    <div className="flex flex-col gap-1">
      <label htmlFor={areaId} className="text-sm font-medium text-slate-700">
        {label}
      </label>
      <textarea
        id={areaId}
        rows={4}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy}
        className={`${FIELD} ${error ? 'border-red-500' : ''} ${className ?? ''}`}
        {...area}
      />
      {hint ? (
        <p id={hintId} className="text-xs text-slate-500">
          {hint}
        </p>
      ) : null}
      {error ? (
        <p id={errorId} className="text-xs text-red-600">
          {error}
        </p>
      ) : null}
    </div>
  )
}

/** A page's list: a scrollable card holding a table with a caption for screen readers, a
 * header row of ``columns`` and ``children`` as its body rows; ``footer`` goes under the table
 * in the card (loading, nothing found). */
export function ListTable({ caption, columns, children, footer }: { caption: string; columns: readonly string[]; children: ReactNode; footer?: ReactNode }) {
  return (
    <div className="overflow-x-auto rounded-lg bg-white shadow-sm">
      <table className="w-full text-sm">
        <caption className="sr-only">{caption}</caption>
        <HeaderRow columns={columns} />
        <tbody>{children}</tbody>
      </table>
      {footer}
    </div>
  )
}

/** A list's header row: each column's name, as a table header. */
export function HeaderRow({ columns }: { columns: readonly string[] }) {
  return (
    <thead>
      <tr className="border-b border-slate-200">
        {columns.map((c) => (
          <th key={c} scope="col" className={TH}>
            {c}
          </th>
        ))}
      </tr>
    </thead>
  )
}

/** Asks, then deletes with `DELETE path`; the dialog stays open with the server's refusal. */
export function DeleteDialog({
  path,
  title,
  text,
  onClose,
  onDeleted,
}: {
  path: string
  title: string
  text: string
  onClose: () => void
  onDeleted: () => void
}) {
  const remove = useMutation({
    mutationFn: () => apiFetch<undefined>(path, { method: 'DELETE' }),
    onSuccess: () => {
      onDeleted()
      onClose()
    },
  })
  return (
    <ConfirmDialog
      open
      onOpenChange={(open) => !open && onClose()}
      title={title}
      confirmLabel={t('admin.delete')}
      onConfirm={() => remove.mutate()}
      busy={remove.isPending}
      error={remove.isError ? errorText(remove.error) : null}
    >
      <p>{text}</p>
    </ConfirmDialog>
  )
}
