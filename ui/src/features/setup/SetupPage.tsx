import { zodResolver } from '@hookform/resolvers/zod'
import { useState } from 'react'
import { useForm } from 'react-hook-form'
import { z } from 'zod'
import { Button, CenteredCard, TextField } from '@/components'
import { apiFetch, isApiError, type TokenPair } from '@/lib/api'
import { t } from '@/lib/i18n'

const schema = z.object({
  code: z.string().trim().min(1, { error: () => t('setup.codeRequired') }),
  name: z.string().trim().min(1, { error: () => t('setup.nameRequired') }),
  email: z.string().trim().pipe(z.email({ error: () => t('auth.emailInvalid') })),
  password: z.string().min(8, { error: () => t('setup.passwordShort') }),
})

type SetupValues = z.infer<typeof schema>
const fields = ['code', 'name', 'email', 'password'] as const

interface SetupPageProps {
  /** The admin was created: the server answered a token pair (signed in). */
  onCreated: (pair: TokenPair) => void
  /** Someone finished the set-up meanwhile. */
  onAlreadyDone: () => void
}

/** First run: create the first administrator with the set-up code from the server log. */
export function SetupPage({ onCreated, onAlreadyDone }: SetupPageProps) {
  const [serverError, setServerError] = useState<string | null>(null)
  const {
    register,
    handleSubmit,
    setError,
    formState: { errors, isSubmitting },
  } = useForm<SetupValues>({
    resolver: zodResolver(schema),
    defaultValues: { code: '', name: '', email: '', password: '' },
  })

  const onSubmit = handleSubmit(async (values) => {
    setServerError(null)
    try {
      const pair = await apiFetch<TokenPair>('/api/v1/setup', { auth: false, body: values })
      onCreated(pair)
    } catch (error) {
      if (isApiError(error, 'invalid_setup_code')) {
        setError('code', { message: t('setup.invalidCode') }, { shouldFocus: true })
      } else if (isApiError(error, 'setup_done') || (isApiError(error) && error.status === 409)) {
        setServerError(t('setup.done'))
        onAlreadyDone()
      } else if (isApiError(error) && error.field && (fields as readonly string[]).includes(error.field)) {
        setError(error.field as (typeof fields)[number], { message: error.detail }, { shouldFocus: true })
      } else {
        setServerError(t('common.error', { detail: error instanceof Error ? error.message : String(error) }))
      }
    }
  })

  return (
    <CenteredCard title={t('setup.title')}>
      <p className="mb-4 text-sm text-slate-600">{t('setup.intro')}</p>
      <form className="flex flex-col gap-4" noValidate onSubmit={(e) => void onSubmit(e)}>
        <TextField label={t('setup.code')} autoComplete="off" error={errors.code?.message} {...register('code')} />
        <TextField label={t('setup.name')} autoComplete="name" error={errors.name?.message} {...register('name')} />
        <TextField
          label={t('setup.email')}
          type="email"
          autoComplete="username"
          error={errors.email?.message}
          {...register('email')}
        />
        <TextField
          label={t('setup.password')}
          type="password"
          autoComplete="new-password"
          error={errors.password?.message}
          {...register('password')}
        />
        {serverError ? (
          <p role="alert" className="text-sm text-red-700">
            {serverError}
          </p>
        ) : null}
        <Button type="submit" disabled={isSubmitting}>
          {isSubmitting ? t('setup.submitting') : t('setup.submit')}
        </Button>
      </form>
    </CenteredCard>
  )
}
