import { zodResolver } from '@hookform/resolvers/zod'
import { useCallback, useEffect, useMemo, useRef } from 'react'
import { useForm } from 'react-hook-form'
import { z } from 'zod'
import { t, type MessageKey } from '@/lib/i18n'
import { replaceNode } from './document'
import { ButtonsEditor, Checkbox, SectionsEditor, Select, TextArea, TextInput, type FieldContext } from './fields'
import { checkValues, fieldsOf, fromForm, limitKey, toForm, type FieldName, type NodeFormValues } from './form-model'
import type { Limits } from './limits'
import { edit, useEditor } from './store'
import type { FlowNode, ModuleCatalog } from './types'

const LABELS: Record<FieldName, MessageKey> = {
  text: 'flows.f.text', preview_url: 'flows.f.preview_url', media_type: 'flows.f.media_type', media_id: 'flows.f.media_id',
  link: 'flows.f.link', caption: 'flows.f.caption', filename: 'flows.f.filename', header: 'flows.f.header', footer: 'flows.f.footer',
  buttons: 'flows.f.buttons', button: 'flows.f.button', sections: 'flows.f.sections', retry_text: 'flows.f.retry_text',
  max_retries: 'flows.f.max_retries', timeout_seconds: 'flows.f.timeout_seconds', name: 'flows.f.name', language: 'flows.f.language',
  components: 'flows.f.components', variable: 'flows.f.variable', validator: 'flows.f.validator', when: 'flows.f.when', value: 'flows.f.value',
  max_iterations: 'flows.f.max_iterations', for_each: 'flows.f.for_each', item: 'flows.f.item', until: 'flows.f.until', module: 'flows.f.module',
  action: 'flows.f.action', inputs: 'flows.f.inputs', output: 'flows.f.output', url: 'flows.f.url', method: 'flows.f.method',
  headers: 'flows.f.headers', body: 'flows.f.body', flow: 'flows.f.flow', version: 'flows.f.version', team: 'flows.f.team', note: 'flows.f.note',
  priority: 'flows.f.priority', skills: 'flows.f.skills', include_variables: 'flows.f.include_variables', seconds: 'flows.f.seconds',
  reminder: 'flows.f.reminder', reminders: 'flows.f.reminders', resolved: 'flows.f.resolved',
}

const HINTS: Partial<Record<FieldName, MessageKey>> = {
  text: 'flows.h.template',
  max_retries: 'flows.h.max_retries',
  timeout_seconds: 'flows.h.timeout_seconds',
  validator: 'flows.h.validator',
  when: 'flows.h.when',
  skills: 'flows.h.skills',
  value: 'flows.h.json',
  components: 'flows.h.json',
  inputs: 'flows.h.json',
  headers: 'flows.h.json',
  body: 'flows.h.json',
  until: 'flows.h.when',
}

/** Typing into the form reaches the document (and the validator) after this pause. */
const COMMIT_MS = 250

interface NodeFormProps {
  node: FlowNode
  modules: ModuleCatalog
  limits: Limits
  /** The server's problems for this node, by form path. */
  serverErrors: Record<string, string>
}

/** The selected node's fields. Each change is written to the document, one undo step per
 * stretch of typing in this node. */
export function NodeForm({ node, modules, limits, serverErrors }: NodeFormProps) {
  const type = node.type
  const schema = useMemo(
    () =>
      z.custom<NodeFormValues>(() => true).superRefine((values, ctx) => {
        for (const issue of checkValues(type, values, limits, modules)) {
          ctx.addIssue({ code: 'custom', path: issue.path.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p)), message: issue.message })
        }
      }),
    [type, limits, modules],
  )
  const { control, register, subscribe, getValues, formState, trigger } = useForm<NodeFormValues>({
    resolver: zodResolver(schema),
    defaultValues: toForm(node, modules),
    mode: 'onChange',
  })
  const nodeId = node.id
  const timer = useRef<number | null>(null)
  const commit = useCallback(() => {
    timer.current = null
    const values = getValues()
    edit(
      (doc) => {
        const current = doc.nodes.find((n) => n.id === nodeId)
        if (!current) return doc
        const next = fromForm(current, values, modules)
        // A form that only settled (validation, focus) must not make an empty undo step.
        return JSON.stringify(next) === JSON.stringify(current) ? doc : replaceNode(doc, nodeId, next)
      },
      `form:${nodeId}`,
      false,
    )
  }, [getValues, modules, nodeId])

  useEffect(() => {
    void trigger()
    const unsubscribe = subscribe({
      formState: { values: true },
      callback: () => {
        if (timer.current !== null) window.clearTimeout(timer.current)
        timer.current = window.setTimeout(commit, COMMIT_MS)
      },
    })
    return () => {
      unsubscribe()
      // Leaving the node (or the page) keeps what was typed.
      if (timer.current !== null) {
        window.clearTimeout(timer.current)
        commit()
      }
    }
  }, [subscribe, commit, trigger])

  const errors = formState.errors
  const ctx: FieldContext = {
    control,
    register,
    errorOf: (path) => {
      let at: unknown = errors
      for (const part of path.split('.')) at = at && typeof at === 'object' ? (at as Record<string, unknown>)[part] : undefined
      const own = at && typeof at === 'object' && 'message' in at ? String(at.message) : undefined
      return own ?? serverErrors[path]
    },
  }
  const max = (field: string) => limits[limitKey(type, field)]?.max
  return (
    <form aria-label={t('flows.nodeForm', { id: nodeId })} className="flex flex-col gap-2" noValidate onSubmit={(e) => e.preventDefault()}>
      <TextInput ctx={ctx} name="label" label={t('flows.f.label')} />
      {fieldsOf(type).map((spec) => {
        const label = t(LABELS[spec.name]) + (spec.required ? ' *' : '')
        const hintKey = HINTS[spec.name]
        const hint = hintKey ? t(hintKey) : undefined
        switch (spec.kind) {
          case 'area':
            return <TextArea key={spec.name} ctx={ctx} name={spec.name} label={label} max={max(spec.name)} hint={hint} />
          case 'json':
            return <TextArea key={spec.name} ctx={ctx} name={spec.name} label={label} hint={hint} rows={4} />
          case 'bool':
            return <Checkbox key={spec.name} ctx={ctx} name={spec.name} label={label} />
          case 'select':
            return <Select key={spec.name} ctx={ctx} name={spec.name} label={label} options={spec.options ?? []} />
          case 'buttons':
            return <ButtonsEditor key={spec.name} ctx={ctx} most={limits['send_buttons.buttons']?.maxItems ?? 3} titleMax={limits['button.title']?.max ?? 20} />
          case 'sections':
            return (
              <SectionsEditor
                key={spec.name}
                ctx={ctx}
                mostRows={limits['section.rows']?.maxItems ?? 10}
                limits={{ sectionTitle: limits['section.title']?.max ?? 24, rowTitle: limits['row.title']?.max ?? 24, rowDescription: limits['row.description']?.max ?? 72 }}
              />
            )
          default:
            return <TextInput key={spec.name} ctx={ctx} name={spec.name} label={label} max={max(spec.name)} hint={hint} />
        }
      })}
      {(modules[type]?.inputs ?? []).map((input) => (
        <TextInput
          key={input.name}
          ctx={ctx}
          name={`fields.${input.name}`}
          label={`${input.name}${input.required ? ' *' : ''} (${input.type})`}
          hint={input.description || undefined}
        />
      ))}
    </form>
  )
}

/** The node the panel edits, read once per selection (the form keeps its own values). */
export function useSelectedNode(): FlowNode | null {
  return useEditor((s) => (s.selected === null ? null : (s.doc.nodes.find((n) => n.id === s.selected) ?? null)))
}
