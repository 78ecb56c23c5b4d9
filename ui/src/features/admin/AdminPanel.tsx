import { useEffect } from 'react'
import { t, type MessageKey } from '@/lib/i18n'
import { AuditPage } from './AuditPage'
import { CannedPage } from './CannedPage'
import { CustomersPage } from './CustomersPage'
import { ModulesPage } from './ModulesPage'
import { NumbersPage } from './NumbersPage'
import { SettingsPage } from './SettingsPage'
import { TeamsPage } from './TeamsPage'
import { UsersPage } from './UsersPage'
import { WebhooksPage } from './WebhooksPage'

/** The admin panel's pages; the app maps each to its address (`/admin/<page>`). */
export type AdminPage = 'users' | 'teams' | 'canned' | 'numbers' | 'modules' | 'webhooks' | 'settings' | 'audit' | 'customers'

const PAGES: [AdminPage, MessageKey][] = [
  ['users', 'admin.users'],
  ['teams', 'admin.teams'],
  ['canned', 'admin.canned'],
  ['numbers', 'admin.numbers'],
  ['modules', 'admin.modules'],
  ['webhooks', 'admin.webhooks'],
  ['settings', 'admin.settings'],
  ['audit', 'admin.audit'],
  ['customers', 'admin.customers'],
]

interface AdminPanelProps {
  page: AdminPage
  /** Go to another page (the app's router changes the address). */
  onPage: (page: AdminPage) => void
  /** The signed-in admin. */
  userId: number
}

/** What admins manage: users, teams, canned responses, business numbers, modules, outbound webhooks,
 * live settings, the audit log and customers' data requests. */
export function AdminPanel({ page, onPage, userId }: AdminPanelProps) {
  const title = PAGES.find(([p]) => p === page)?.[1] ?? 'admin.users'
  useEffect(() => {
    document.title = `${t(title)} · ${t('app.name')}`
    return () => {
      document.title = t('app.name')
    }
  }, [title])
  return (
    <div className="flex min-h-0 flex-1 flex-col md:flex-row">
      <nav aria-label={t('admin.title')} className="shrink-0 border-b border-slate-200 bg-white md:w-52 md:border-r md:border-b-0">
        <ul className="flex gap-1 overflow-x-auto p-2 md:flex-col">
          {PAGES.map(([p, label]) => (
            <li key={p}>
              <a
                href={`/admin/${p}`}
                aria-current={p === page ? 'page' : undefined}
                onClick={(e) => {
                  if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return
                  e.preventDefault()
                  onPage(p)
                }}
                className={`block rounded-md px-3 py-2 text-sm font-medium whitespace-nowrap focus-visible:outline-2 focus-visible:outline-emerald-600 ${
                  p === page ? 'bg-emerald-100 text-emerald-900' : 'text-slate-700 hover:bg-slate-100'
                }`}
              >
                {t(label)}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main className="min-h-0 min-w-0 flex-1 overflow-y-auto bg-slate-50 p-4">
        {page === 'users' ? <UsersPage userId={userId} /> : null}
        {page === 'teams' ? <TeamsPage /> : null}
        {page === 'canned' ? <CannedPage /> : null}
        {page === 'numbers' ? <NumbersPage /> : null}
        {page === 'modules' ? <ModulesPage /> : null}
        {page === 'webhooks' ? <WebhooksPage /> : null}
        {page === 'settings' ? <SettingsPage /> : null}
        {page === 'audit' ? <AuditPage /> : null}
        {page === 'customers' ? <CustomersPage /> : null}
      </main>
    </div>
  )
}
