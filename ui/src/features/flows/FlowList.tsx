import { zodResolver } from '@hookform/resolvers/zod'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { useId, useState } from 'react'
import { useForm } from 'react-hook-form'
import { z } from 'zod'
import { Button, Dialog, TextField } from '@/components'
import { t } from '@/lib/i18n'
import { createDraft, errorText, fetchFlows, keys } from './api'
import { emptyFlow, normalize } from './document'
import type { Problem } from './types'

function makeNewFlowSchema() {
  return z.object({
    id: z.string().trim().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: () => t('flows.badId') }),
    name: z.string().trim().min(1, { error: () => t('flows.nameRequired') }).max(200),
  })
}

type NewFlowValues = z.infer<ReturnType<typeof makeNewFlowSchema>>

function NewFlowForm({ onCreated }: { onCreated: (id: string) => void }) {
  const [formError, setFormError] = useState<string | null>(null)
  const { register, handleSubmit, formState: { errors, isSubmitting } } = useForm<NewFlowValues>({
    resolver: zodResolver(makeNewFlowSchema()),
    defaultValues: { id: '', name: '' },
  })
  const onSubmit = handleSubmit(async ({ id, name }) => {
    setFormError(null)
    try {
      await createDraft(emptyFlow(id, name))
      onCreated(id)
    } catch (error) {
      setFormError(errorText(error))
    }
  })
  return (
    <form className="flex flex-col gap-3" noValidate onSubmit={(e) => void onSubmit(e)}>
      <TextField label={t('flows.newId')} hint={t('flows.newIdHint')} autoComplete="off" error={errors.id?.message} {...register('id')} />
      <TextField label={t('flows.flowName')} autoComplete="off" error={errors.name?.message} {...register('name')} />
      {formError ? <p role="alert" className="text-sm text-red-800">{formError}</p> : null}
      <Button type="submit" disabled={isSubmitting}>{t('flows.create')}</Button>
    </form>
  )
}

/** A chosen file's text (FileReader: older engines lack Blob.text()). */
function readText(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader()
    reader.onload = () => resolve(typeof reader.result === 'string' ? reader.result : '')
    reader.onerror = () => reject(reader.error ?? new Error('unreadable'))
    reader.readAsText(file)
  })
}

interface Imported {
  id: string
  version: number
  problems: Problem[]
}

/** Every flow with its published and draft versions; create one, or import a JSON file as a
 * draft (stored even when invalid, with its problems shown). */
export function FlowList({ onOpen }: { onOpen: (flow: string) => void }) {
  const queryClient = useQueryClient()
  const flows = useQuery({ queryKey: keys.list, queryFn: ({ signal }) => fetchFlows(signal) })
  const [creating, setCreating] = useState(false)
  const [imported, setImported] = useState<Imported | null>(null)
  const [importError, setImportError] = useState<string | null>(null)
  const fileId = useId()

  const importFile = async (file: File) => {
    setImported(null)
    setImportError(null)
    let doc
    try {
      doc = normalize(JSON.parse(await readText(file)) as unknown)
    } catch {
      setImportError(t('flows.notJson', { name: file.name }))
      return
    }
    try {
      const draft = await createDraft(doc)
      setImported({ id: doc.id, version: draft.version, problems: draft.problems })
      void queryClient.invalidateQueries({ queryKey: keys.list })
    } catch (error) {
      setImportError(errorText(error))
    }
  }

  const rows = flows.data?.flows ?? []
  return (
    <main className="flex flex-col gap-4 overflow-y-auto p-4">
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-lg font-semibold">{t('flows.title')}</h1>
        <div className="ml-auto flex flex-wrap items-center gap-2">
          <label htmlFor={fileId} className="cursor-pointer rounded-md border border-slate-300 bg-white px-4 py-2 text-sm font-medium text-slate-800 hover:bg-slate-100 has-[:focus-visible]:outline-2 has-[:focus-visible]:outline-emerald-600">
            {t('flows.import')}
            <input
              id={fileId}
              type="file"
              accept="application/json,.json"
              className="sr-only"
              onChange={(e) => {
                const file = e.target.files?.[0]
                e.target.value = ''
                if (file) void importFile(file)
              }}
            />
          </label>
          <Button onClick={() => setCreating(true)}>{t('flows.newFlow')}</Button>
        </div>
      </div>
      {importError ? <p role="alert" className="rounded bg-red-50 p-2 text-sm text-red-800">{importError}</p> : null}
      {imported ? (
        <section aria-label={t('flows.importResult')} className="rounded border border-slate-200 bg-white p-3 text-sm">
          <p role="status">
            {imported.problems.length
              ? t('flows.importedWithProblems', { id: imported.id, version: imported.version, count: imported.problems.length })
              : t('flows.imported', { id: imported.id, version: imported.version })}
          </p>
          {imported.problems.length ? (
            <ul className="mt-2 list-disc pl-5 text-red-800">
              {imported.problems.map((p, i) => (
                <li key={i}>
                  <span className="font-mono">{p.path}</span>: {p.message}
                </li>
              ))}
            </ul>
          ) : null}
          <Button variant="secondary" className="mt-2" onClick={() => onOpen(imported.id)}>
            {t('flows.openOne', { id: imported.id })}
          </Button>
        </section>
      ) : null}
      {flows.isError ? <p role="alert" className="text-sm text-red-800">{errorText(flows.error)}</p> : null}
      {flows.data && rows.length === 0 ? <p className="text-sm text-slate-600">{t('flows.none')}</p> : null}
      {rows.length ? (
        <div className="overflow-x-auto rounded-lg bg-white shadow-sm">
          <table className="w-full text-sm">
            <caption className="sr-only">{t('flows.title')}</caption>
            <thead>
              <tr className="border-b border-slate-200 text-left text-xs text-slate-600">
                <th scope="col" className="px-2 py-1.5">{t('flows.flow')}</th>
                <th scope="col" className="px-2 py-1.5">{t('flows.publishedVersion')}</th>
                <th scope="col" className="px-2 py-1.5">{t('flows.draftVersion')}</th>
                <th scope="col" className="px-2 py-1.5">{t('flows.versionCount')}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((f) => (
                <tr key={f.name} className="border-b border-slate-100 last:border-0">
                  <th scope="row" className="px-2 py-1.5 text-left font-normal">
                    <a
                      href={`/flows/${encodeURIComponent(f.name)}`}
                      className="font-mono text-emerald-800 underline hover:text-emerald-950"
                      onClick={(e) => {
                        if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return
                        e.preventDefault()
                        onOpen(f.name)
                      }}
                    >
                      {f.name}
                    </a>
                  </th>
                  <td className="px-2 py-1.5">{f.published_version === null ? '—' : `v${String(f.published_version)}`}</td>
                  <td className="px-2 py-1.5">{f.draft_version === null ? '—' : `v${String(f.draft_version)}`}</td>
                  <td className="px-2 py-1.5">{f.versions}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {creating ? (
        <Dialog open onOpenChange={(open) => setCreating(open)} title={t('flows.newFlow')} closeLabel={t('flows.cancel')}>
          <NewFlowForm onCreated={(id) => { setCreating(false); void queryClient.invalidateQueries({ queryKey: keys.list }); onOpen(id) }} />
        </Dialog>
      ) : null}
    </main>
  )
}
