import { zodResolver } from '@hookform/resolvers/zod'
import { useEffect, useState } from 'react'
import { useForm } from 'react-hook-form'
import { z } from 'zod'
import { Button, CenteredCard, TextField } from '@/components'
import { apiFetch, isApiError, type TokenPair } from '@/lib/api'
import { t } from '@/lib/i18n'

/** The server's shortest acceptable password (pytake/identity/_passwords.py); it checks the
 * rest (common passwords, the email) and names the field when it refuses. */
const MIN_PASSWORD = 8

function makePasswordSchema() {
  return z
    .object({
      password: z.string().min(MIN_PASSWORD, { error: () => t('admin.passwordTooShort') }),
      repeat: z.string(),
    })
    .refine((v) => v.password === v.repeat, { path: ['repeat'], error: () => t('admin.passwordsDiffer') })
}

function makeCodeSchema() {
  return z.object({
    email: z.string().trim().pipe(z.email({ error: () => t('auth.emailInvalid') })),
    totp_code: z.string().trim().regex(/^\d{6}$/, { error: () => t('auth.codeInvalid') }),
  })
}

type PasswordValues = z.infer<ReturnType<typeof makePasswordSchema>>
type CodeValues = z.infer<ReturnType<typeof makeCodeSchema>>

/** The token of a set-password link (`/set-password?token=…`), or null. */
export function tokenFromLocation(search: string = window.location.search): string | null {
  return new URLSearchParams(search).get('token') || null
}

interface SetPasswordPageProps {
  /** The link's one-time token; read from the address when not given. */
  token?: string | null
  /** The password is set and the server answered a token pair: the user is signed in. */
  onSignedIn: (pair: TokenPair) => void
  /** Go to the sign-in page (a link that cannot be used). */
  onSignIn?: () => void
}

/**
 * Where an invitation's or a reset's link leads: the user chooses a password and is signed
 * in. The token is read once and taken out of the address, so that it is neither kept in the
 * history nor sent on as a referrer.
 */
export function SetPasswordPage({ token: given, onSignedIn, onSignIn }: SetPasswordPageProps) {
  const [token] = useState(() => (given === undefined ? tokenFromLocation() : given))
  // After a set-password that the second factor stopped: the password is set (the token is
  // spent), so signing in needs the email, the new password and the code.
  const [password, setPassword] = useState<string | null>(null)

  useEffect(() => {
    if (window.location.search.includes('token=')) window.history.replaceState(window.history.state, '', window.location.pathname)
  }, [])

  return (
    <CenteredCard title={t('admin.setPasswordTitle')}>
      {!token ? (
        <Unusable text={t('admin.setPasswordNoToken')} onSignIn={onSignIn} />
      ) : password === null ? (
        <PasswordStep token={token} onSignedIn={onSignedIn} onSecondFactor={setPassword} onSignIn={onSignIn} />
      ) : (
        <CodeStep password={password} onSignedIn={onSignedIn} />
      )}
    </CenteredCard>
  )
}

function Unusable({ text, onSignIn }: { text: string; onSignIn: (() => void) | undefined }) {
  return (
    <div className="flex flex-col gap-3">
      <p role="alert" className="text-sm text-red-700">
        {text}
      </p>
      {onSignIn ? (
        <Button variant="secondary" onClick={onSignIn}>
          {t('admin.goToSignIn')}
        </Button>
      ) : null}
    </div>
  )
}

function failure(error: unknown): string {
  if (isApiError(error)) return error.detail
  return t('common.error', { detail: error instanceof Error ? error.message : String(error) })
}

function PasswordStep({
  token,
  onSignedIn,
  onSecondFactor,
  onSignIn,
}: {
  token: string
  onSignedIn: (pair: TokenPair) => void
  onSecondFactor: (password: string) => void
  onSignIn: (() => void) | undefined
}) {
  const [serverError, setServerError] = useState<string | null>(null)
  const [spent, setSpent] = useState(false)
  const {
    register,
    handleSubmit,
    setError,
    formState: { errors, isSubmitting },
  } = useForm<PasswordValues>({ resolver: zodResolver(makePasswordSchema()), defaultValues: { password: '', repeat: '' } })

  const onSubmit = handleSubmit(async ({ password }) => {
    setServerError(null)
    try {
      onSignedIn(await apiFetch<TokenPair>('/api/v1/auth/set-password', { auth: false, body: { token, password } }))
    } catch (error) {
      if (isApiError(error, 'second_factor_required') || isApiError(error, 'invalid_second_factor')) onSecondFactor(password)
      else if (isApiError(error) && error.field === 'password') setError('password', { type: 'server', message: error.detail }, { shouldFocus: true })
      else if (isApiError(error) && error.field === 'token') setSpent(true)
      else setServerError(failure(error))
    }
  })

  if (spent) return <Unusable text={t('admin.setPasswordBadToken')} onSignIn={onSignIn} />
  return (
    <form className="flex flex-col gap-4" noValidate onSubmit={(e) => void onSubmit(e)}>
      <p className="text-sm text-slate-600">{t('admin.setPasswordIntro')}</p>
      <TextField label={t('admin.newPassword')} type="password" autoComplete="new-password" hint={t('admin.newPasswordHint')} error={errors.password?.message} {...register('password')} />
      <TextField label={t('admin.repeatPassword')} type="password" autoComplete="new-password" error={errors.repeat?.message} {...register('repeat')} />
      {serverError ? (
        <p role="alert" className="text-sm text-red-700">
          {serverError}
        </p>
      ) : null}
      <Button type="submit" disabled={isSubmitting}>
        {isSubmitting ? t('admin.setPasswordBusy') : t('admin.setPasswordSubmit')}
      </Button>
    </form>
  )
}

function CodeStep({ password, onSignedIn }: { password: string; onSignedIn: (pair: TokenPair) => void }) {
  const [serverError, setServerError] = useState<string | null>(null)
  const {
    register,
    handleSubmit,
    setError,
    formState: { errors, isSubmitting },
  } = useForm<CodeValues>({ resolver: zodResolver(makeCodeSchema()), defaultValues: { email: '', totp_code: '' } })

  const onSubmit = handleSubmit(async ({ email, totp_code }) => {
    setServerError(null)
    try {
      onSignedIn(await apiFetch<TokenPair>('/api/v1/auth/login', { auth: false, body: { email, password, totp_code } }))
    } catch (error) {
      if (isApiError(error, 'invalid_second_factor')) setError('totp_code', { type: 'server', message: t('auth.invalidCode') }, { shouldFocus: true })
      else if (isApiError(error, 'invalid_credentials')) setError('email', { type: 'server', message: t('auth.invalidCredentials') }, { shouldFocus: true })
      else setServerError(failure(error))
    }
  })

  return (
    <form className="flex flex-col gap-4" noValidate onSubmit={(e) => void onSubmit(e)}>
      <p role="status" className="text-sm text-slate-700">
        {t('admin.setPasswordSecondFactor')}
      </p>
      <TextField label={t('auth.email')} type="email" autoComplete="username" autoFocus error={errors.email?.message} {...register('email')} />
      <TextField
        label={t('auth.code')}
        inputMode="numeric"
        autoComplete="one-time-code"
        maxLength={6}
        error={errors.totp_code?.message}
        {...register('totp_code')}
      />
      {serverError ? (
        <p role="alert" className="text-sm text-red-700">
          {serverError}
        </p>
      ) : null}
      <Button type="submit" disabled={isSubmitting}>
        {t('admin.setPasswordSignIn')}
      </Button>
    </form>
  )
}
