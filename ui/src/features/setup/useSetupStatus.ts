import { useQuery } from '@tanstack/react-query'
import { apiFetch, isApiError } from '@/lib/api'

/** `GET /api/v1/setup` (public): does this installation still need its first admin? */
export function useSetupStatus() {
  return useQuery({
    queryKey: ['setup'],
    queryFn: async ({ signal }) => {
      try {
        return await apiFetch<{ needed: boolean }>('/api/v1/setup', { auth: false, signal })
      } catch (error) {
        // A server without the first-run route is set up by the command line.
        if (isApiError(error) && (error.status === 404 || error.status === 405)) return { needed: false }
        throw error
      }
    },
    staleTime: Infinity,
    retry: 2,
  })
}
