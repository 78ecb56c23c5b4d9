import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { useForm } from 'react-hook-form'
import { Button, Dialog, TextField } from '@/components'
import { apiFetch } from '@/lib/api'
import { t } from '@/lib/i18n'
import { errorText, keys, serverErrorOnForm, type LiveSetting, type SettingsAnswer } from './api'
import { Alert, ListTable, PageHeading, TD } from './parts'

/** A setting's value as shown: text as typed, an empty text said so, anything else as JSON. */
export function shownValue(value: unknown): string {
  if (value === null || value === undefined) return '—'
  if (typeof value === 'string') return value === '' ? t('admin.emptyValue') : value
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value)
}

/** A value as it is edited: text as it is, nothing as an empty field. */
function editableValue(value: unknown): string {
  if (value === null || value === undefined) return ''
  return typeof value === 'string' ? value : shownValue(value)
}

/** What the admin typed, as the setting's type: a number for the number settings (a text that
 * is not one goes as typed, for the server to say why), a string for the others. */
export function typedValue(setting: LiveSetting, text: string): unknown {
  const numeric = typeof setting.default === 'number' || typeof setting.value === 'number'
  const trimmed = text.trim()
  return numeric && trimmed !== '' && Number.isFinite(Number(trimmed)) ? Number(trimmed) : text
}

/** The settings that change while PyTake runs: value, default, and whether overridden. */
export function SettingsPage() {
  const queryClient = useQueryClient()
  const settings = useQuery({ queryKey: keys.settings, queryFn: ({ signal }) => apiFetch<SettingsAnswer>('/api/v1/settings', { signal }) })
  const [editing, setEditing] = useState<string | null>(null)
  const reset = useMutation({
    mutationFn: (name: string) => apiFetch<SettingsAnswer>('/api/v1/settings', { method: 'PATCH', body: { [name]: null } }),
    onSuccess: (answer) => queryClient.setQueryData(keys.settings, answer),
  })
  const rows = settings.data ? settings.data.live.flatMap((name) => (settings.data.settings[name] ? [[name, settings.data.settings[name]] as const] : [])) : []
  const chosen = rows.find(([name]) => name === editing)
  return (
    <section aria-labelledby="admin-settings-title" className="flex flex-col gap-3">
      <PageHeading id="admin-settings-title" title={t('admin.settings')} />
      <p className="text-sm text-slate-700">{t('admin.settingsIntro')}</p>
      {settings.isError ? <Alert>{errorText(settings.error)}</Alert> : null}
      {reset.isError ? <Alert>{errorText(reset.error)}</Alert> : null}
      {settings.isPending ? <p className="text-sm text-slate-600">{t('common.loading')}</p> : null}
      {rows.length > 0 ? (
        <ListTable caption={t('admin.settings')} columns={[t('admin.setting'), t('admin.value'), t('admin.default'), t('admin.overridden'), t('admin.actions')]}>
          {rows.map(([name, s]) => (
            <tr key={name} className="border-b border-slate-100 last:border-0">
              <th scope="row" className={`${TD} text-left font-mono font-normal`}>
                {name}
              </th>
              <td className={`${TD} break-all`}>{shownValue(s.value)}</td>
              <td className={`${TD} break-all`}>{shownValue(s.default)}</td>
              <td className={TD}>{s.overridden ? t('admin.yes') : t('admin.no')}</td>
              <td className={`${TD} flex flex-wrap gap-1`}>
                <Button size="sm" variant="secondary" aria-label={t('admin.editOne', { name })} onClick={() => setEditing(name)}>
                  {t('admin.edit')}
                </Button>
                <Button
                  size="sm"
                  variant="secondary"
                  disabled={!s.overridden || reset.isPending}
                  aria-label={t('admin.backToDefaultOne', { name })}
                  onClick={() => reset.mutate(name)}
                >
                  {t('admin.backToDefault')}
                </Button>
              </td>
            </tr>
          ))}
        </ListTable>
      ) : null}
      {chosen ? (
        <Dialog open onOpenChange={(open) => !open && setEditing(null)} title={t('admin.editOne', { name: chosen[0] })} closeLabel={t('admin.cancel')}>
          <SettingForm
            name={chosen[0]}
            setting={chosen[1]}
            onSaved={(answer) => {
              queryClient.setQueryData(keys.settings, answer)
              setEditing(null)
            }}
          />
        </Dialog>
      ) : null}
    </section>
  )
}

/** Changes one setting; the server's refusal (422 naming it) goes under its field. */
function SettingForm({ name, setting, onSaved }: { name: string; setting: LiveSetting; onSaved: (answer: SettingsAnswer) => void }) {
  const [formError, setFormError] = useState<string | null>(null)
  const {
    register,
    handleSubmit,
    setError,
    formState: { errors, isSubmitting },
  } = useForm<Record<string, string>>({
    defaultValues: { [name]: editableValue(setting.value) },
  })
  const onSubmit = handleSubmit(async (values) => {
    setFormError(null)
    try {
      onSaved(await apiFetch<SettingsAnswer>('/api/v1/settings', { method: 'PATCH', body: { [name]: typedValue(setting, values[name] ?? '') } }))
    } catch (error) {
      setFormError(serverErrorOnForm(error, [name], setError))
    }
  })
  return (
    <form className="flex flex-col gap-3" noValidate onSubmit={(e) => void onSubmit(e)}>
      <TextField
        label={name}
        className="font-mono"
        autoComplete="off"
        hint={t('admin.defaultIs', { value: shownValue(setting.default) })}
        error={errors[name]?.message}
        {...register(name)}
      />
      <Alert>{formError}</Alert>
      <Button type="submit" disabled={isSubmitting}>
        {t('admin.save')}
      </Button>
    </form>
  )
}
