import { zodResolver } from '@hookform/resolvers/zod'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useId, useState, type FormEvent } from 'react'
import { useForm } from 'react-hook-form'
import { z } from 'zod'
import { Button, Dialog, TextField } from '@/components'
import { apiFetch } from '@/lib/api'
import { t, type MessageKey } from '@/lib/i18n'
import { errorText, keys, parseList, serverErrorOnForm, STRATEGIES, type Member, type MembersPage, type Team, type TeamsPage as Page } from './api'
import { Alert, ConfirmDialog, FIELD, HeaderRow, Notice, SelectField, TD } from './parts'
import { HoursEditor } from './HoursEditor'
import { useUsers } from './UsersPage'

const strategyKey = (s: string) => `admin.strategy.${s}` as MessageKey

function makeTeamSchema() {
  return z.object({
    name: z.string().trim().min(1, { error: () => t('admin.nameRequired') }).max(120),
    routing_strategy: z.enum(STRATEGIES),
  })
}

type TeamValues = z.infer<ReturnType<typeof makeTeamSchema>>


/** Every team (up to 500), by name: this page's list and the other pages' team pickers. */
export function useTeams() {
  return useQuery({ queryKey: keys.teams, queryFn: ({ signal }) => apiFetch<Page>('/api/v1/teams?limit=500', { signal }) })
}

/** Teams, their routing strategy and their members' capacity and skills. */
export function TeamsPage() {
  const teams = useTeams()
  const [chosen, setChosen] = useState<number | null>(null)
  const [creating, setCreating] = useState(false)
  const list = teams.data?.teams ?? []
  const team = list.find((tm) => tm.id === chosen) ?? list[0]
  return (
    <section aria-labelledby="admin-teams-title" className="flex flex-col gap-3">
      <div className="flex flex-wrap items-center gap-3">
        <h2 id="admin-teams-title" className="text-lg font-semibold">
          {t('admin.teams')}
        </h2>
        <Button className="ml-auto" onClick={() => setCreating(true)}>
          {t('admin.newTeam')}
        </Button>
      </div>
      {teams.isError ? <Alert>{errorText(teams.error)}</Alert> : null}
      {teams.isPending ? <p className="text-sm text-slate-600">{t('common.loading')}</p> : null}
      {teams.data && list.length === 0 ? <p className="text-sm text-slate-600">{t('admin.noTeams')}</p> : null}
      <div className="flex flex-col gap-4 md:flex-row">
        <nav aria-label={t('admin.teams')} className="md:w-56">
          <ul className="flex flex-col gap-1">
            {list.map((tm) => (
              <li key={tm.id}>
                <button
                  type="button"
                  aria-current={tm.id === team?.id ? 'true' : undefined}
                  onClick={() => setChosen(tm.id)}
                  className={`w-full rounded-md px-3 py-2 text-left text-sm focus-visible:outline-2 focus-visible:outline-emerald-600 ${
                    tm.id === team?.id ? 'bg-emerald-100 font-semibold text-emerald-900' : 'bg-white hover:bg-slate-100'
                  }`}
                >
                  {tm.name}
                  <span className="block text-xs font-normal text-slate-600">{t('admin.memberCount', { count: tm.member_count })}</span>
                </button>
              </li>
            ))}
          </ul>
        </nav>
        {team ? <TeamDetail key={team.id} team={team} onDeleted={() => setChosen(null)} /> : null}
      </div>
      <Dialog open={creating} onOpenChange={setCreating} title={t('admin.newTeam')} closeLabel={t('admin.cancel')}>
        <TeamForm
          submitLabel={t('admin.create')}
          onSaved={(created) => {
            setChosen(created.id)
            setCreating(false)
          }}
        />
      </Dialog>
    </section>
  )
}

/** Creates a team, or renames one and changes its strategy. */
function TeamForm({ team, submitLabel, onSaved }: { team?: Team; submitLabel: string; onSaved: (team: Team) => void }) {
  const queryClient = useQueryClient()
  const [formError, setFormError] = useState<string | null>(null)
  const {
    register,
    handleSubmit,
    setError,
    formState: { errors, isSubmitting, isDirty },
  } = useForm<TeamValues>({
    resolver: zodResolver(makeTeamSchema()),
    defaultValues: {
      name: team?.name ?? '',
      routing_strategy: (team?.routing_strategy as TeamValues['routing_strategy'] | undefined) ?? 'round_robin',
    },
  })
  const onSubmit = handleSubmit(async (values) => {
    setFormError(null)
    try {
      const saved = team
        ? await apiFetch<Team>(`/api/v1/teams/${String(team.id)}`, { method: 'PATCH', body: values })
        : await apiFetch<Team>('/api/v1/teams', { body: values })
      void queryClient.invalidateQueries({ queryKey: keys.teams })
      onSaved(saved)
    } catch (error) {
      setFormError(serverErrorOnForm(error, ['name', 'routing_strategy'], setError))
    }
  })
  return (
    <form className="flex flex-col gap-3" noValidate onSubmit={(e) => void onSubmit(e)}>
      <TextField label={t('admin.teamName')} autoComplete="off" error={errors.name?.message} {...register('name')} />
      <SelectField label={t('admin.strategy')} error={errors.routing_strategy?.message} {...register('routing_strategy')}>
        {STRATEGIES.map((s) => (
          <option key={s} value={s}>
            {t(strategyKey(s))}
          </option>
        ))}
      </SelectField>
      <Alert>{formError}</Alert>
      <Button type="submit" className="self-start" disabled={isSubmitting || (team !== undefined && !isDirty)}>
        {submitLabel}
      </Button>
    </form>
  )
}

function TeamDetail({ team, onDeleted }: { team: Team; onDeleted: () => void }) {
  const queryClient = useQueryClient()
  const [saved, setSaved] = useState(false)
  const [deleting, setDeleting] = useState(false)
  const remove = useMutation({
    mutationFn: () => apiFetch<undefined>(`/api/v1/teams/${String(team.id)}`, { method: 'DELETE' }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: keys.teams })
      setDeleting(false)
      onDeleted()
    },
  })
  return (
    <section aria-labelledby="admin-team-title" className="flex min-w-0 flex-1 flex-col gap-4 rounded-lg bg-white p-4 shadow-sm">
      <div className="flex flex-wrap items-center gap-2">
        <h3 id="admin-team-title" className="text-base font-semibold">
          {team.name}
        </h3>
        <span className="text-xs text-slate-600">{t('admin.timezone', { zone: team.timezone })}</span>
        <Button variant="danger" size="sm" className="ml-auto" onClick={() => setDeleting(true)}>
          {t('admin.deleteTeam')}
        </Button>
      </div>
      <TeamForm key={team.updated_at ?? ''} team={team} submitLabel={t('admin.save')} onSaved={() => setSaved(true)} />
      {saved ? <Notice>{t('admin.saved')}</Notice> : null}
      <Members team={team} />
      <HoursEditor team={team} />
      <p className="text-xs text-slate-600">{t('admin.queueSettingsLater')}</p>
      <ConfirmDialog
        open={deleting}
        onOpenChange={setDeleting}
        title={t('admin.deleteTeamOne', { name: team.name })}
        confirmLabel={t('admin.deleteTeam')}
        onConfirm={() => remove.mutate()}
        busy={remove.isPending}
        error={remove.isError ? errorText(remove.error) : null}
      >
        <p>{t('admin.deleteTeamText', { name: team.name })}</p>
      </ConfirmDialog>
    </section>
  )
}

function Members({ team }: { team: Team }) {
  const members = useQuery({
    queryKey: keys.members(team.id),
    queryFn: ({ signal }) => apiFetch<MembersPage>(`/api/v1/teams/${String(team.id)}/members?limit=500`, { signal }),
  })
  const rows = members.data?.members ?? []
  return (
    <section aria-labelledby="admin-members-title" className="flex flex-col gap-2">
      <h4 id="admin-members-title" className="font-medium">
        {t('admin.members')}
      </h4>
      {members.isError ? <Alert>{errorText(members.error)}</Alert> : null}
      {members.data && rows.length === 0 ? <p className="text-sm text-slate-600">{t('admin.noMembers')}</p> : null}
      {rows.length > 0 ? (
        <div className="overflow-x-auto">
          <table className="w-full text-sm">
            <caption className="sr-only">{t('admin.membersOf', { name: team.name })}</caption>
            <HeaderRow columns={[t('admin.name'), t('admin.capacity'), t('admin.skills'), t('admin.actions')]} />
            <tbody>
              {rows.map((m) => (
                <MemberRow key={`${String(m.user_id)}-${String(m.max_concurrent)}-${m.skills.join(',')}`} team={team} member={m} />
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <AddMember team={team} members={rows} />
    </section>
  )
}

function usePutMember(team: Team) {
  const queryClient = useQueryClient()
  return useMutation({
    mutationFn: ({ userId, capacity, skills }: { userId: number; capacity: number; skills: string[] }) =>
      apiFetch<Member>(`/api/v1/teams/${String(team.id)}/members/${String(userId)}`, {
        method: 'PUT',
        body: { max_concurrent: capacity, skills },
      }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: keys.members(team.id) })
      void queryClient.invalidateQueries({ queryKey: keys.teams, exact: true })
    },
  })
}

function MemberRow({ team, member }: { team: Team; member: Member }) {
  const queryClient = useQueryClient()
  const [capacity, setCapacity] = useState(String(member.max_concurrent))
  const [skills, setSkills] = useState(member.skills.join(', '))
  const put = usePutMember(team)
  const remove = useMutation({
    mutationFn: () => apiFetch<undefined>(`/api/v1/teams/${String(team.id)}/members/${String(member.user_id)}`, { method: 'DELETE' }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: keys.members(team.id) })
      void queryClient.invalidateQueries({ queryKey: keys.teams, exact: true })
    },
  })
  const changed = capacity !== String(member.max_concurrent) || parseList(skills).join(',') !== member.skills.join(',')
  const error = put.error ?? remove.error
  return (
    <tr className="border-b border-slate-100 last:border-0">
      <th scope="row" className={`${TD} text-left font-normal`}>
        {member.name}
        <span className="block text-xs text-slate-600">{member.email}</span>
        {error ? <span role="alert" className="block text-xs text-red-700">{errorText(error)}</span> : null}
      </th>
      <td className={TD}>
        <input
          type="number"
          min={1}
          max={100}
          aria-label={t('admin.capacityOf', { name: member.name })}
          value={capacity}
          onChange={(e) => setCapacity(e.target.value)}
          className={`${FIELD} w-20`}
        />
      </td>
      <td className={TD}>
        <input
          aria-label={t('admin.skillsOf', { name: member.name })}
          value={skills}
          onChange={(e) => setSkills(e.target.value)}
          className={`${FIELD} w-full min-w-40`}
        />
      </td>
      <td className={`${TD} flex gap-1`}>
        <Button
          size="sm"
          variant="secondary"
          disabled={!changed || put.isPending}
          aria-label={t('admin.saveMember', { name: member.name })}
          onClick={() => put.mutate({ userId: member.user_id, capacity: Number(capacity), skills: parseList(skills) })}
        >
          {t('admin.save')}
        </Button>
        <Button size="sm" variant="danger" disabled={remove.isPending} aria-label={t('admin.removeMember', { name: member.name })} onClick={() => remove.mutate()}>
          {t('admin.remove')}
        </Button>
      </td>
    </tr>
  )
}

function AddMember({ team, members }: { team: Team; members: Member[] }) {
  const users = useUsers()
  const put = usePutMember(team)
  const [userId, setUserId] = useState('')
  const [capacity, setCapacity] = useState('5')
  const [skills, setSkills] = useState('')
  const capacityId = useId()
  const skillsId = useId()
  const taken = new Set(members.map((m) => m.user_id))
  const candidates = (users.data?.pages.flatMap((p) => p.users) ?? []).filter((u) => u.active && !taken.has(u.id))
  const submit = (e: FormEvent) => {
    e.preventDefault()
    if (!userId) return
    put.mutate(
      { userId: Number(userId), capacity: Number(capacity), skills: parseList(skills) },
      {
        onSuccess: () => {
          setUserId('')
          setSkills('')
        },
      },
    )
  }
  return (
    <form className="flex flex-wrap items-end gap-2 border-t border-slate-200 pt-3" onSubmit={submit}>
      <SelectField label={t('admin.addMemberUser')} value={userId} onChange={(e) => setUserId(e.target.value)}>
        <option value="">{t('admin.chooseUser')}</option>
        {candidates.map((u) => (
          <option key={u.id} value={u.id}>
            {u.name} ({u.email})
          </option>
        ))}
      </SelectField>
      <div className="flex flex-col gap-1">
        <label htmlFor={capacityId} className="text-sm font-medium text-slate-700">
          {t('admin.capacity')}
        </label>
        <input id={capacityId} type="number" min={1} max={100} value={capacity} onChange={(e) => setCapacity(e.target.value)} className={`${FIELD} w-20`} />
      </div>
      <div className="flex flex-col gap-1">
        <label htmlFor={skillsId} className="text-sm font-medium text-slate-700">
          {t('admin.skills')}
        </label>
        <input id={skillsId} value={skills} placeholder={t('admin.skillsPlaceholder')} onChange={(e) => setSkills(e.target.value)} className={FIELD} />
      </div>
      <Button type="submit" disabled={!userId || put.isPending}>
        {t('admin.addMember')}
      </Button>
      {put.isError ? <div className="w-full"><Alert>{errorText(put.error)}</Alert></div> : null}
    </form>
  )
}
