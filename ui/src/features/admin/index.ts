import { registerMessages } from '@/lib/i18n'
import { adminEn, adminPtBR } from '@/lib/i18n/admin-messages'

// This part's strings come with its chunk, not with the desk's first load.
registerMessages(adminEn, adminPtBR)

export { AdminPanel } from './AdminPanel'
export type { AdminPage } from './AdminPanel'
