import { useQuery } from '@tanstack/react-query'
import { useId, useState, type FormEvent } from 'react'
import { Button } from '@/components'
import { apiFetch, type MessageTemplate, type TemplatesList } from '@/lib/api'
import { t } from '@/lib/i18n'
import { WhatsAppText } from './whatsapp-format'

const FIELD = 'rounded-md border border-slate-300 px-3 py-2 text-sm outline-none focus:ring-2 focus:ring-emerald-500'

/** ``text`` with each ``{{name}}`` replaced by its value (the name itself while empty). */
export function fillTemplate(text: string, values: Record<string, string>): string {
  return text.replace(/\{\{\s*(\w+)\s*\}\}/g, (whole, name: string) => values[name]?.trim() || whole)
}

function parameters(names: string[], values: Record<string, string>): Record<string, string>[] {
  // Meta's two formats: {{1}}, {{2}} are positional; {{order_id}} is named.
  const positional = names.every((n) => /^\d+$/.test(n))
  return names.map((n): Record<string, string> => {
    const text = values[n]?.trim() ?? ''
    return positional ? { type: 'text', text } : { type: 'text', parameter_name: n, text }
  })
}

/** The desk's ``send`` content for ``template`` with ``values`` filled in (docs/agent-protocol.md:
 * ``name``, ``language``, ``components`` in the Cloud API's format). */
export function templateMessage(template: MessageTemplate, values: Record<string, string>): Record<string, unknown> {
  const components: Record<string, unknown>[] = []
  if (template.header_variables.length > 0) {
    components.push({ type: 'header', parameters: parameters(template.header_variables, values) })
  }
  if (template.variables.length > 0) {
    components.push({ type: 'body', parameters: parameters(template.variables, values) })
  }
  return { name: template.name, language: template.language, components }
}

interface TemplateComposerProps {
  onSend: (template: Record<string, unknown>, shown: string) => void
}

/** Once the 24-hour window has closed WhatsApp takes only approved templates: pick one, fill
 * its variables, see what the customer will read, send. */
export function TemplateComposer({ onSend }: TemplateComposerProps) {
  const list = useQuery({
    queryKey: ['templates'],
    queryFn: () => apiFetch<TemplatesList>('/api/v1/templates'),
    staleTime: 60_000,
  })
  const [chosen, setChosen] = useState('')
  const [values, setValues] = useState<Record<string, string>>({})
  const selectId = useId()
  const fieldId = useId()
  const templates = list.data?.templates ?? []
  const template = templates.find((tm) => `${tm.name}|${tm.language}` === chosen)
  const names = template ? [...new Set([...template.header_variables, ...template.variables])] : []
  const complete = template !== undefined && names.every((n) => values[n]?.trim())
  const shown = template ? [template.header, template.body].filter(Boolean).map((x) => fillTemplate(x ?? '', values)).join('\n') : ''

  const submit = (e: FormEvent) => {
    e.preventDefault()
    if (!template || !complete) return
    onSend(templateMessage(template, values), shown)
    setValues({})
  }

  return (
    <form className="flex flex-col gap-2 border-t border-slate-200 bg-white p-3" onSubmit={submit}>
      <p className="text-sm text-amber-800">{t('desk.windowClosed')}</p>
      <label htmlFor={selectId} className="text-sm font-medium text-slate-700">
        {t('desk.template')}
      </label>
      <select
        id={selectId}
        value={chosen}
        onChange={(e) => {
          setChosen(e.target.value)
          setValues({})
        }}
        className={FIELD}
      >
        <option value="">{list.isPending ? t('common.loading') : t('desk.chooseTemplate')}</option>
        {templates.map((tm) => (
          <option key={`${tm.name}|${tm.language}`} value={`${tm.name}|${tm.language}`}>
            {tm.name} ({tm.language})
          </option>
        ))}
      </select>
      {list.isError ? <p className="text-xs text-red-600">{t('common.error', { detail: list.error.message })}</p> : null}
      {list.data && templates.length === 0 ? (
        <p className="text-xs text-slate-600">{list.data.synced ? t('desk.noTemplates') : t('desk.templatesNotSynced')}</p>
      ) : null}
      {names.map((name) => (
        <div key={name} className="flex flex-col gap-1">
          <label htmlFor={`${fieldId}-${name}`} className="text-xs font-medium text-slate-700">
            {t('desk.templateVariable', { name })}
          </label>
          <input
            id={`${fieldId}-${name}`}
            value={values[name] ?? ''}
            maxLength={1024}
            onChange={(e) => setValues((v) => ({ ...v, [name]: e.target.value }))}
            className={FIELD}
          />
        </div>
      ))}
      {template ? (
        <div aria-label={t('desk.templatePreview')} role="group" className="rounded-md bg-emerald-50 p-2 text-sm whitespace-pre-wrap">
          <WhatsAppText text={shown} />
          {template.footer ? <p className="mt-1 text-xs text-slate-500">{template.footer}</p> : null}
        </div>
      ) : null}
      <Button type="submit" disabled={!complete}>
        {t('desk.sendTemplate')}
      </Button>
    </form>
  )
}
