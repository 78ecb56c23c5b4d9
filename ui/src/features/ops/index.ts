import { registerMessages } from '@/lib/i18n'
import { opsEn, opsPtBR } from '@/lib/i18n/ops-messages'

// This part's strings come with its chunk, not with the desk's first load.
registerMessages(opsEn, opsPtBR)

export { OpsDashboard } from './OpsDashboard'
