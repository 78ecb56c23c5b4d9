import { getAccessToken, problemFromResponse, refreshAccessToken } from '@/lib/api'

async function get(url: string, token: string | null): Promise<Response> {
  return fetch(url, {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    credentials: 'same-origin',
  })
}

/** The file name the server proposes (`Content-Disposition`), or `fallback`. */
export function fileName(response: Response, fallback: string): string {
  const disposition = response.headers.get('content-disposition') ?? ''
  const match = /filename="?([^";]+)"?/i.exec(disposition)
  return match?.[1] ?? fallback
}

/**
 * Downloads an authenticated GET as a file: the bearer token goes in a header as apiFetch
 * sends it (refreshed once on `401 token_expired`), never in the URL, and the answer is saved
 * through a temporary object URL. Rejects with an ApiError when the server refuses.
 */
export async function download(url: string, fallbackName: string): Promise<void> {
  let response = await get(url, getAccessToken())
  if (response.status === 401) {
    const problem = await problemFromResponse(response.clone())
    if (problem.code === 'token_expired') {
      const token = await refreshAccessToken()
      if (!token) throw problem
      response = await get(url, token)
    }
  }
  if (!response.ok) throw await problemFromResponse(response)
  const blob = await response.blob()
  const href = URL.createObjectURL(blob)
  const link = document.createElement('a')
  link.href = href
  link.download = fileName(response, fallbackName)
  link.hidden = true
  document.body.append(link)
  try {
    link.click()
  } finally {
    link.remove()
    // Revoked after the click has been handled: the browser has the blob by then.
    setTimeout(() => URL.revokeObjectURL(href), 10_000)
  }
}
