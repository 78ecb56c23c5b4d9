export { AgentSocket, CommandRejectedError, DisconnectedError, lastSeqKey } from './client'
export type { AgentSocketOptions } from './client'
export type * from './types'
