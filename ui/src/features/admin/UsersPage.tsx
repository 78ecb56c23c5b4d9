import { zodResolver } from '@hookform/resolvers/zod'
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query'
import { useState, type ComponentPropsWithRef } from 'react'
import { useForm } from 'react-hook-form'
import { z } from 'zod'
import { Button, Dialog, TextField } from '@/components'
import { apiFetch } from '@/lib/api'
import { formatDate, t, type MessageKey } from '@/lib/i18n'
import { errorText, keys, ROLES, serverErrorOnForm, type Credential, type Delivery, type Role, type User, type UsersPage as Page } from './api'
import { Alert, ConfirmDialog, ListTable, LoadMore, Notice, OneTimeSecret, SelectField, TD } from './parts'

const roleKey = (role: string) => `admin.role.${role}` as MessageKey

export function useUsers() {
  return useInfiniteQuery({
    queryKey: keys.users,
    queryFn: ({ pageParam, signal }) => apiFetch<Page>('/api/v1/users', { query: { limit: 200, cursor: pageParam }, signal }),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  })
}

type Dialogs = { kind: 'role' | 'active' | 'reset'; user: User } | { kind: 'invite' } | null

/** Who may sign in, with which role: invite, change role, deactivate, reset a password. */
export function UsersPage({ userId }: { userId: number }) {
  const users = useUsers()
  const [dialog, setDialog] = useState<Dialogs>(null)
  const close = (open: boolean) => {
    if (!open) setDialog(null)
  }
  const rows = users.data?.pages.flatMap((p) => p.users) ?? []
  return (
    <section aria-labelledby="admin-users-title" className="flex flex-col gap-3">
      <div className="flex flex-wrap items-center gap-3">
        <h2 id="admin-users-title" className="text-lg font-semibold">
          {t('admin.users')}
        </h2>
        <Button className="ml-auto" onClick={() => setDialog({ kind: 'invite' })}>
          {t('admin.invite')}
        </Button>
      </div>
      {users.isError ? <Alert>{errorText(users.error)}</Alert> : null}
      <ListTable
        caption={t('admin.users')}
        columns={[t('admin.name'), t('admin.email'), t('admin.roleColumn'), t('admin.status'), t('admin.created'), t('admin.actions')]}
        footer={users.isPending ? <p className="p-2 text-sm text-slate-600">{t('common.loading')}</p> : null}
      >
        {rows.map((user) => (
          <tr key={user.id} className="border-b border-slate-100 last:border-0">
            <td className={TD}>
              {user.name}
              {user.id === userId ? <span className="ml-1 text-xs text-slate-600">{t('admin.you')}</span> : null}
            </td>
            <td className={TD}>{user.email}</td>
            <td className={TD}>{t(roleKey(user.role))}</td>
            <td className={TD}>{user.active ? t('admin.active') : t('admin.inactive')}</td>
            <td className={TD}>{formatDate(new Date(user.created_at))}</td>
            <td className={`${TD} flex flex-wrap gap-1`}>
              <Button variant="secondary" size="sm" aria-label={t('admin.changeRoleOf', { name: user.name })} onClick={() => setDialog({ kind: 'role', user })}>
                {t('admin.changeRole')}
              </Button>
              <Button
                variant={user.active ? 'danger' : 'secondary'}
                size="sm"
                aria-label={t(user.active ? 'admin.deactivateOne' : 'admin.reactivateOne', { name: user.name })}
                onClick={() => setDialog({ kind: 'active', user })}
              >
                {t(user.active ? 'admin.deactivate' : 'admin.reactivate')}
              </Button>
              <Button variant="secondary" size="sm" aria-label={t('admin.resetPasswordOf', { name: user.name })} onClick={() => setDialog({ kind: 'reset', user })}>
                {t('admin.resetPassword')}
              </Button>
            </td>
          </tr>
        ))}
      </ListTable>
      <LoadMore hasMore={users.hasNextPage} loading={users.isFetchingNextPage} onClick={() => void users.fetchNextPage()} />

      <Dialog open={dialog?.kind === 'invite'} onOpenChange={close} title={t('admin.inviteTitle')} closeLabel={t('common.close')}>
        <InviteForm />
      </Dialog>
      {dialog?.kind === 'role' ? (
        <Dialog open onOpenChange={close} title={t('admin.changeRoleOf', { name: dialog.user.name })} closeLabel={t('admin.cancel')}>
          <RoleForm user={dialog.user} done={() => setDialog(null)} />
        </Dialog>
      ) : null}
      {dialog?.kind === 'active' ? <ActiveDialog user={dialog.user} onClose={() => setDialog(null)} /> : null}
      {dialog?.kind === 'reset' ? (
        <Dialog open onOpenChange={close} title={t('admin.resetPasswordOf', { name: dialog.user.name })} closeLabel={t('common.close')}>
          <ResetForm user={dialog.user} />
        </Dialog>
      ) : null}
    </section>
  )
}

/** How a new or reset credential reaches the user. */
function DeliveryChoice({ radio }: { radio: (d: Delivery) => ComponentPropsWithRef<'input'> }) {
  return (
    <fieldset className="flex flex-col gap-1">
      <legend className="text-sm font-medium text-slate-700">{t('admin.delivery')}</legend>
      {(['link', 'password'] as const).map((d) => (
        <label key={d} className="flex items-start gap-2 text-sm">
          <input type="radio" value={d} className="mt-1" {...radio(d)} />
          <span>{t(d === 'link' ? 'admin.deliveryLink' : 'admin.deliveryPassword')}</span>
        </label>
      ))}
    </fieldset>
  )
}

/** The token or the temporary password, shown this once. */
function CredentialView({ credential }: { credential: Credential }) {
  if (credential.temporary_password) {
    return (
      <OneTimeSecret
        label={t('admin.temporaryPassword', { email: credential.user.email })}
        value={credential.temporary_password}
        hint={t('admin.temporaryPasswordHint')}
      />
    )
  }
  return (
    <OneTimeSecret
      label={t('admin.inviteLink', { email: credential.user.email })}
      value={setPasswordLink(credential.set_password_token ?? '')}
      hint={t('admin.inviteLinkHint', {
        expires: credential.expires_at ? formatDate(new Date(credential.expires_at)) : '—',
      })}
    />
  )
}

/** The web app's set-password page with the token: what the invited user opens. The token
 * rides in the query string, which the page reads once and then drops from the address. */
export function setPasswordLink(token: string, origin = window.location.origin): string {
  return `${origin}/set-password?token=${encodeURIComponent(token)}`
}

function makeInviteSchema() {
  return z.object({
    email: z.string().trim().pipe(z.email({ error: () => t('auth.emailInvalid') })),
    name: z.string().trim().min(1, { error: () => t('admin.nameRequired') }),
    role: z.enum(['admin', 'supervisor', 'agent']),
    delivery: z.enum(['link', 'password']),
  })
}

type InviteValues = z.infer<ReturnType<typeof makeInviteSchema>>

export function InviteForm() {
  const queryClient = useQueryClient()
  const [credential, setCredential] = useState<Credential | null>(null)
  const [formError, setFormError] = useState<string | null>(null)
  const {
    register,
    handleSubmit,
    setError,
    formState: { errors, isSubmitting },
  } = useForm<InviteValues>({
    resolver: zodResolver(makeInviteSchema()),
    defaultValues: { email: '', name: '', role: 'agent', delivery: 'link' },
  })

  const onSubmit = handleSubmit(async (values) => {
    setFormError(null)
    try {
      const answer = await apiFetch<Credential>('/api/v1/users', { body: values })
      setCredential(answer)
      void queryClient.invalidateQueries({ queryKey: keys.users })
    } catch (error) {
      setFormError(serverErrorOnForm(error, ['email', 'name', 'role', 'delivery'], setError, { email_taken: 'email' }))
    }
  })

  if (credential) {
    return (
      <div className="flex flex-col gap-3">
        <Notice>{t('admin.invited', { name: credential.user.name })}</Notice>
        <CredentialView credential={credential} />
      </div>
    )
  }
  return (
    <form className="flex flex-col gap-3" noValidate onSubmit={(e) => void onSubmit(e)}>
      <TextField label={t('admin.email')} type="email" autoComplete="off" error={errors.email?.message} {...register('email')} />
      <TextField label={t('admin.name')} autoComplete="off" error={errors.name?.message} {...register('name')} />
      <SelectField label={t('admin.roleColumn')} error={errors.role?.message} {...register('role')}>
        {ROLES.map((role) => (
          <option key={role} value={role}>
            {t(roleKey(role))}
          </option>
        ))}
      </SelectField>
      <DeliveryChoice radio={() => register('delivery')} />
      {errors.delivery?.message ? <p className="text-xs text-red-600">{errors.delivery.message}</p> : null}
      <Alert>{formError}</Alert>
      <Button type="submit" disabled={isSubmitting}>
        {isSubmitting ? t('admin.inviting') : t('admin.sendInvite')}
      </Button>
    </form>
  )
}

function RoleForm({ user, done }: { user: User; done: () => void }) {
  const queryClient = useQueryClient()
  const [role, setRole] = useState<Role>(user.role)
  const change = useMutation({
    mutationFn: () => apiFetch<User>(`/api/v1/users/${String(user.id)}`, { method: 'PATCH', body: { role } }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: keys.users })
      done()
    },
  })
  return (
    <form
      className="flex flex-col gap-3"
      onSubmit={(e) => {
        e.preventDefault()
        change.mutate()
      }}
    >
      <SelectField label={t('admin.roleColumn')} value={role} autoFocus onChange={(e) => setRole(e.target.value as Role)}>
        {ROLES.map((r) => (
          <option key={r} value={r}>
            {t(roleKey(r))}
          </option>
        ))}
      </SelectField>
      <p className="text-xs text-slate-600">{t('admin.roleHint')}</p>
      <Alert>{change.isError ? errorText(change.error) : null}</Alert>
      <Button type="submit" disabled={change.isPending || role === user.role}>
        {t('admin.save')}
      </Button>
    </form>
  )
}

function ActiveDialog({ user, onClose }: { user: User; onClose: () => void }) {
  const queryClient = useQueryClient()
  const action = user.active ? 'deactivate' : 'reactivate'
  const change = useMutation({
    mutationFn: () => apiFetch<User>(`/api/v1/users/${String(user.id)}/${action}`, { method: 'POST' }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: keys.users })
      onClose()
    },
  })
  return (
    <ConfirmDialog
      open
      onOpenChange={(open) => !open && onClose()}
      title={t(user.active ? 'admin.deactivateOne' : 'admin.reactivateOne', { name: user.name })}
      confirmLabel={t(user.active ? 'admin.deactivate' : 'admin.reactivate')}
      onConfirm={() => change.mutate()}
      busy={change.isPending}
      error={change.isError ? errorText(change.error) : null}
    >
      <p>{t(user.active ? 'admin.deactivateText' : 'admin.reactivateText', { name: user.name, email: user.email })}</p>
    </ConfirmDialog>
  )
}

function ResetForm({ user }: { user: User }) {
  const [delivery, setDelivery] = useState<Delivery>('link')
  const reset = useMutation({
    mutationFn: () => apiFetch<Credential>(`/api/v1/users/${String(user.id)}/reset-password`, { body: { delivery } }),
  })
  if (reset.data) return <CredentialView credential={reset.data} />
  return (
    <form
      className="flex flex-col gap-3"
      onSubmit={(e) => {
        e.preventDefault()
        reset.mutate()
      }}
    >
      <p className="text-sm">{t('admin.resetText', { name: user.name })}</p>
      <DeliveryChoice radio={(d) => ({ name: 'reset-delivery', checked: delivery === d, onChange: () => setDelivery(d) })} />
      <Alert>{reset.isError ? errorText(reset.error) : null}</Alert>
      <Button type="submit" variant="danger" disabled={reset.isPending}>
        {t('admin.resetPassword')}
      </Button>
    </form>
  )
}
