import { zodResolver } from '@hookform/resolvers/zod'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useMemo, useState } from 'react'
import { useForm, type Path } from 'react-hook-form'
import { Button, TextField } from '@/components'
import { apiFetch, isApiError } from '@/lib/api'
import { formatDate, t, type MessageKey } from '@/lib/i18n'
import { errorText, keys, type InstalledModule, type ModuleConfig, type ModuleConfigsPage, type ModulesPage as Page, type NumbersPage } from './api'
import {
  configBody,
  configSchema,
  defaultText,
  initialValues,
  inputKind,
  readManifest,
  type ConfigField,
  type ConfigFormValues,
  type FieldProblem,
  type ModuleManifest,
} from './module-form'
import { Alert, DeleteDialog, ListTable, Notice, PageHeading, SelectField, TD, TextAreaField } from './parts'

const DEFAULT_TENANT = 'default'

const modulePath = (name: string) => `/api/v1/modules/${encodeURIComponent(name)}`
const configPath = (name: string, tenant: string) => `${modulePath(name)}/configs/${encodeURIComponent(tenant)}`

/** Installed modules, their switch, and each one's configuration per tenant. */
export function ModulesPage() {
  const queryClient = useQueryClient()
  const modules = useQuery({
    queryKey: keys.modules,
    queryFn: ({ signal }) => apiFetch<Page>('/api/v1/modules', { query: { limit: 200 }, signal }),
  })
  const [chosen, setChosen] = useState<string | null>(null)
  const toggle = useMutation({
    mutationFn: (m: InstalledModule) => apiFetch<unknown>(`${modulePath(m.name)}/${m.enabled ? 'disable' : 'enable'}`, { method: 'POST' }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: keys.modules, exact: true }),
  })
  const rows = modules.data?.modules ?? []
  const module = rows.find((m) => m.name === chosen)
  return (
    <section aria-labelledby="admin-modules-title" className="flex flex-col gap-3">
      <PageHeading id="admin-modules-title" title={t('admin.modules')} />
      <p className="text-sm text-slate-600">{t('admin.modulesIntro')}</p>
      {modules.isError ? <Alert>{errorText(modules.error)}</Alert> : null}
      {toggle.isError ? <Alert>{errorText(toggle.error)}</Alert> : null}
      {modules.isPending ? <p className="text-sm text-slate-600">{t('common.loading')}</p> : null}
      {modules.data && rows.length === 0 ? <p className="text-sm text-slate-600">{t('admin.noModules')}</p> : null}
      {rows.length > 0 ? (
        <ListTable caption={t('admin.modules')} columns={[t('admin.module'), t('admin.version'), t('admin.status'), t('admin.actions')]}>
          {rows.map((m) => {
            const description = readManifest(m.manifest).description
            return (
              <tr key={m.name} className="border-b border-slate-100 last:border-0">
                <th scope="row" className={`${TD} text-left font-normal`}>
                  <span className="font-mono">{m.name}</span>
                  {description ? <span className="block text-xs text-slate-600">{description}</span> : null}
                </th>
                <td className={`${TD} font-mono`}>{m.version}</td>
                <td className={TD}>{m.enabled ? t('admin.enabled') : t('admin.disabled')}</td>
                <td className={`${TD} flex flex-wrap gap-1`}>
                  <Button size="sm" variant="secondary" aria-pressed={m.name === chosen} aria-label={t('admin.configureOne', { name: m.name })} onClick={() => setChosen(m.name)}>
                    {t('admin.configure')}
                  </Button>
                  <Button
                    size="sm"
                    variant={m.enabled ? 'danger' : 'secondary'}
                    disabled={toggle.isPending}
                    aria-label={t(m.enabled ? 'admin.disableOne' : 'admin.enableOne', { name: m.name })}
                    onClick={() => toggle.mutate(m)}
                  >
                    {t(m.enabled ? 'admin.disable' : 'admin.enable')}
                  </Button>
                </td>
              </tr>
            )
          })}
        </ListTable>
      ) : null}
      {module ? <ModuleDetail key={module.name} module={module} /> : null}
    </section>
  )
}

/** The tenants a module may be configured for: default, every business number, and any
 * tenant that already has a configuration (a number removed since, a name set by the CLI). */
function useTenants(name: string) {
  const numbers = useQuery({
    queryKey: [...keys.numbers, 'tenants'],
    queryFn: ({ signal }) => apiFetch<NumbersPage>('/api/v1/numbers', { query: { limit: 200 }, signal }),
  })
  const configs = useQuery({
    queryKey: keys.moduleConfigs(name),
    queryFn: ({ signal }) => apiFetch<ModuleConfigsPage>(`${modulePath(name)}/configs`, { query: { limit: 500 }, signal }),
  })
  return useMemo(() => {
    const tenants = new Map<string, string>([[DEFAULT_TENANT, t('admin.tenantDefault')]])
    for (const n of numbers.data?.numbers ?? []) {
      tenants.set(n.phone_number_id, t('admin.tenantNumber', { id: n.phone_number_id, name: n.display_name ?? n.phone_number_id }))
    }
    for (const c of configs.data?.configs ?? []) if (!tenants.has(c.tenant)) tenants.set(c.tenant, c.tenant)
    return [...tenants.entries()]
  }, [numbers.data, configs.data])
}

function ModuleDetail({ module }: { module: InstalledModule }) {
  const manifest = useMemo(() => readManifest(module.manifest), [module.manifest])
  const tenants = useTenants(module.name)
  const [tenant, setTenant] = useState(DEFAULT_TENANT)
  return (
    <section aria-labelledby="admin-module-title" className="flex flex-col gap-3 rounded-lg bg-white p-4 shadow-sm">
      <h3 id="admin-module-title" className="font-semibold">
        {t('admin.configureOne', { name: module.name })}
      </h3>
      {manifest.description ? <p className="text-sm text-slate-700">{manifest.description}</p> : null}
      <dl className="grid gap-x-4 gap-y-1 text-sm sm:grid-cols-[auto_1fr]">
        <dt className="font-medium text-slate-700">{t('admin.moduleActions')}</dt>
        <dd className="font-mono">{manifest.actions.map((a) => `${module.name}.${a.name}`).join(', ') || '—'}</dd>
        <dt className="font-medium text-slate-700">{t('admin.modulePermissions')}</dt>
        <dd className="font-mono">{manifest.permissions.join(', ') || '—'}</dd>
      </dl>
      {manifest.config.length === 0 ? (
        <p className="text-sm text-slate-600">{t('admin.noConfigFields')}</p>
      ) : (
        <>
          <SelectField label={t('admin.tenant')} value={tenant} onChange={(e) => setTenant(e.target.value)} className="max-w-md">
            {tenants.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </SelectField>
          <TenantConfig key={tenant} name={module.name} manifest={manifest} tenant={tenant} />
        </>
      )}
    </section>
  )
}

/** Reads the tenant's configuration (none: 404), then shows its form. */
function TenantConfig({ name, manifest, tenant }: { name: string; manifest: ModuleManifest; tenant: string }) {
  // Kept here: a save remounts the form (its key is the stored version), the notice stays.
  const [saved, setSaved] = useState(false)
  const config = useQuery({
    queryKey: keys.moduleConfig(name, tenant),
    queryFn: async ({ signal }) => {
      try {
        return await apiFetch<ModuleConfig>(configPath(name, tenant), { signal })
      } catch (error) {
        if (isApiError(error) && error.status === 404) return null
        throw error
      }
    },
  })
  if (config.isPending) return <p className="text-sm text-slate-600">{t('common.loading')}</p>
  if (config.isError) return <Alert>{errorText(config.error)}</Alert>
  return <ConfigForm key={config.data?.updated_at ?? 'none'} name={name} manifest={manifest} tenant={tenant} stored={config.data} saved={saved} onSaved={setSaved} />
}

const problemKey = (problem: FieldProblem) => `admin.problem.${problem}` as MessageKey

interface ConfigFormProps {
  name: string
  manifest: ModuleManifest
  tenant: string
  stored: ModuleConfig | null
  saved: boolean
  onSaved: (saved: boolean) => void
}

function ConfigForm({ name, manifest, tenant, stored, saved, onSaved: setSaved }: ConfigFormProps) {
  const queryClient = useQueryClient()
  const fields = manifest.config
  const secretsSet = useMemo(() => stored?.secrets_set ?? [], [stored])
  const [formError, setFormError] = useState<string | null>(null)
  const [deleting, setDeleting] = useState(false)
  const schema = useMemo(() => configSchema(fields, secretsSet, (problem) => t(problemKey(problem))), [fields, secretsSet])
  const {
    register,
    handleSubmit,
    setError,
    formState: { errors, isSubmitting },
  } = useForm<ConfigFormValues>({
    resolver: zodResolver(schema),
    defaultValues: initialValues(fields, (stored?.config as Record<string, unknown> | undefined) ?? null),
  })
  const onSubmit = handleSubmit(async (values) => {
    setFormError(null)
    setSaved(false)
    try {
      const answer = await apiFetch<ModuleConfig>(configPath(name, tenant), { method: 'PUT', body: configBody(fields, values, secretsSet) })
      setSaved(true)
      queryClient.setQueryData(keys.moduleConfig(name, tenant), answer)
      void queryClient.invalidateQueries({ queryKey: keys.moduleConfigs(name), exact: true })
    } catch (error) {
      const field = isApiError(error) ? fields.find((f) => f.name === error.field) : undefined
      if (field && isApiError(error)) setError(`v.${field.name}` as Path<ConfigFormValues>, { type: 'server', message: error.detail }, { shouldFocus: true })
      else setFormError(errorText(error))
    }
  })
  return (
    <form aria-label={t('admin.configOf', { name, tenant })} className="flex flex-col gap-3" noValidate onSubmit={(e) => void onSubmit(e)}>
      <p className="text-sm text-slate-600">
        {stored ? t('admin.configUpdated', { when: formatDate(new Date(stored.updated_at)) }) : t('admin.noConfig')}
      </p>
      {fields.map((field) => (
        <ConfigInput key={field.name} field={field} isSet={secretsSet.includes(field.name)} register={register} error={errors.v?.[field.name]?.message} />
      ))}
      <Alert>{formError}</Alert>
      {saved ? <Notice>{t('admin.saved')}</Notice> : null}
      <div className="flex flex-wrap gap-2">
        <Button type="submit" disabled={isSubmitting}>
          {t('admin.save')}
        </Button>
        {stored ? (
          <Button type="button" variant="danger" onClick={() => setDeleting(true)}>
            {t('admin.deleteConfig')}
          </Button>
        ) : null}
      </div>
      {deleting ? (
        <DeleteDialog
          path={configPath(name, tenant)}
          title={t('admin.deleteConfigOne', { name, tenant })}
          text={t('admin.deleteConfigText', { name, tenant })}
          onClose={() => setDeleting(false)}
          onDeleted={() => {
            queryClient.setQueryData(keys.moduleConfig(name, tenant), null)
            void queryClient.invalidateQueries({ queryKey: keys.moduleConfigs(name), exact: true })
          }}
        />
      ) : null}
    </form>
  )
}

interface ConfigInputProps {
  field: ConfigField
  isSet: boolean
  register: ReturnType<typeof useForm<ConfigFormValues>>['register']
  error: string | undefined
}

/** One generated control: the kind `inputKind` chose, labelled by the field's name. */
function ConfigInput({ field, isSet, register, error }: ConfigInputProps) {
  const label = field.required ? t('admin.fieldRequired', { name: field.name }) : field.name
  const fallback = defaultText(field)
  const hint = [field.description, fallback !== null && inputKind(field) !== 'choice' && inputKind(field) !== 'boolean' ? t('admin.fieldDefault', { value: fallback }) : null]
    .filter(Boolean)
    .join(' · ')
  const path = `v.${field.name}` as const
  const common = { 'aria-required': field.required || undefined, error, ...register(path) }
  switch (inputKind(field)) {
    case 'choice':
    case 'boolean': {
      const options = field.choices.length > 0 ? field.choices.map((c) => [c, c] as const) : ([['true', t('admin.yes')], ['false', t('admin.no')]] as const)
      const shownDefault = field.type === 'boolean' && fallback !== null ? t(fallback === 'true' ? 'admin.yes' : 'admin.no') : fallback
      return (
        <SelectField label={label} hint={field.description || undefined} className="max-w-md" {...common}>
          <option value="">{field.required ? t('admin.chooseOne') : shownDefault !== null ? t('admin.useDefaultIs', { value: shownDefault }) : t('admin.useDefault')}</option>
          {options.map(([value, text]) => (
            <option key={value} value={value}>
              {text}
            </option>
          ))}
        </SelectField>
      )
    }
    case 'multiline':
      return <TextAreaField label={label} hint={hint || undefined} {...common} />
    case 'json':
      return <TextAreaField label={label} hint={[hint, t('admin.jsonHint')].filter(Boolean).join(' · ')} className="font-mono" spellCheck={false} {...common} />
    case 'secret':
    case 'secret-json':
      return (
        <div className="flex flex-col gap-1">
          <TextField
            label={label}
            type="password"
            autoComplete="new-password"
            spellCheck={false}
            hint={[t('admin.secretState', { state: t(isSet ? 'admin.secretIsSet' : 'admin.secretIsNotSet') }), isSet ? t('admin.secretSet') : t('admin.secretNotSet'), field.description]
              .filter(Boolean)
              .join(' ')}
            className="max-w-md font-mono"
            {...common}
          />
          {isSet && !field.required ? (
            <label className="flex items-center gap-2 text-sm">
              <input type="checkbox" {...register(`clear.${field.name}`)} />
              {t('admin.removeSecret', { name: field.name })}
            </label>
          ) : null}
        </div>
      )
    case 'integer':
    case 'number':
      return <TextField label={label} hint={hint || undefined} inputMode={inputKind(field) === 'integer' ? 'numeric' : 'decimal'} autoComplete="off" className="max-w-xs" {...common} />
    case 'url':
      return <TextField label={label} hint={hint || undefined} type="url" autoComplete="off" className="max-w-xl" {...common} />
    default:
      return <TextField label={label} hint={hint || undefined} autoComplete="off" className="max-w-xl" {...common} />
  }
}
