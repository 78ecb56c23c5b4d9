import { useQuery } from '@tanstack/react-query'
import { apiFetch, type Me } from '@/lib/api'
import { useAuthStore } from './session'

/** The signed-in user (`GET /api/v1/auth/me`). */
export function useMe() {
  const signedIn = useAuthStore((s) => s.session !== null)
  return useQuery({
    queryKey: ['auth', 'me'],
    queryFn: ({ signal }) => apiFetch<Me>('/api/v1/auth/me', { signal }),
    enabled: signedIn,
    staleTime: 5 * 60_000,
  })
}
