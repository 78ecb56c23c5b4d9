import { registerMessages } from '@/lib/i18n'
import { flowsEn, flowsPtBR } from '@/lib/i18n/flows-messages'

// This part's strings come with its chunk, not with the desk's first load.
registerMessages(flowsEn, flowsPtBR)

export { FlowsPage } from './FlowsPage'
