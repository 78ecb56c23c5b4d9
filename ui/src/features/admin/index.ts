export { AdminPanel } from './AdminPanel'
export type { AdminPage } from './AdminPanel'
