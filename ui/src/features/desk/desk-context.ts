import { createContext, useContext } from 'react'
import type { AgentSocket } from '@/lib/agent-socket'

export const DeskSocketContext = createContext<AgentSocket | null>(null)

export function useDeskSocketClient(): AgentSocket {
  const client = useContext(DeskSocketContext)
  if (!client) throw new Error('useDeskSocketClient outside the desk')
  return client
}
