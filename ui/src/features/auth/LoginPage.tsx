import { zodResolver } from '@hookform/resolvers/zod'
import { useEffect, useMemo, useState } from 'react'
import { useForm } from 'react-hook-form'
import { z } from 'zod'
import { Button, CenteredCard, TextField } from '@/components'
import { apiFetch, isApiError, type TokenPair } from '@/lib/api'
import { t } from '@/lib/i18n'
import { signIn, useAuthStore } from './session'

function makeSchema(needCode: boolean) {
  return z.object({
    email: z.string().trim().pipe(z.email({ error: () => t('auth.emailInvalid') })),
    password: z.string().min(1, { error: () => t('auth.passwordRequired') }),
    totp_code: needCode
      ? z.string().trim().regex(/^\d{6}$/, { error: () => t('auth.codeInvalid') })
      : z.string().optional(),
  })
}

type LoginValues = z.infer<ReturnType<typeof makeSchema>>

export function LoginPage({ onSignedIn }: { onSignedIn?: () => void }) {
  const [needCode, setNeedCode] = useState(false)
  const [serverError, setServerError] = useState<string | null>(null)
  const notice = useAuthStore((s) => s.notice)
  const schema = useMemo(() => makeSchema(needCode), [needCode])
  const {
    register,
    handleSubmit,
    setFocus,
    formState: { errors, isSubmitting },
  } = useForm<LoginValues>({
    resolver: zodResolver(schema),
    defaultValues: { email: '', password: '', totp_code: '' },
  })

  useEffect(() => {
    if (needCode) setFocus('totp_code')
  }, [needCode, setFocus])

  const onSubmit = handleSubmit(async (values) => {
    setServerError(null)
    try {
      const pair = await apiFetch<TokenPair>('/api/v1/auth/login', {
        auth: false,
        body: {
          email: values.email,
          password: values.password,
          ...(needCode && values.totp_code ? { totp_code: values.totp_code } : {}),
        },
      })
      signIn(pair)
      onSignedIn?.()
    } catch (error) {
      if (isApiError(error, 'second_factor_required')) {
        setNeedCode(true)
        setServerError(t('auth.codeHint'))
      } else if (isApiError(error, 'invalid_second_factor')) {
        setNeedCode(true)
        setServerError(t('auth.invalidCode'))
      } else if (isApiError(error, 'invalid_credentials')) {
        setServerError(t('auth.invalidCredentials'))
      } else if (isApiError(error, 'account_inactive')) {
        setServerError(t('auth.inactive'))
      } else {
        setServerError(t('common.error', { detail: error instanceof Error ? error.message : String(error) }))
      }
    }
  })

  return (
    <CenteredCard title={t('auth.title')}>
      {notice === 'expired' && !serverError ? (
        <p className="mb-3 rounded-md bg-amber-50 p-2 text-sm text-amber-800">{t('auth.expired')}</p>
      ) : null}
      <form className="flex flex-col gap-4" noValidate onSubmit={(e) => void onSubmit(e)}>
        <TextField
          label={t('auth.email')}
          type="email"
          autoComplete="username"
          error={errors.email?.message}
          {...register('email')}
        />
        <TextField
          label={t('auth.password')}
          type="password"
          autoComplete="current-password"
          error={errors.password?.message}
          {...register('password')}
        />
        {needCode ? (
          <TextField
            label={t('auth.code')}
            inputMode="numeric"
            autoComplete="one-time-code"
            maxLength={6}
            pattern="[0-9]*"
            error={errors.totp_code?.message}
            {...register('totp_code')}
          />
        ) : null}
        {serverError ? (
          <p role="alert" className="text-sm text-red-700">
            {serverError}
          </p>
        ) : null}
        <Button type="submit" disabled={isSubmitting}>
          {isSubmitting ? t('auth.submitting') : t('auth.submit')}
        </Button>
      </form>
    </CenteredCard>
  )
}
