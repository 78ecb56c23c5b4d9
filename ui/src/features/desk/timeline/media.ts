import { useQuery } from '@tanstack/react-query'
import { useEffect, useState, type RefObject } from 'react'
import { ApiError, getAccessToken, problemFromResponse, refreshAccessToken } from '@/lib/api'

/** `GET /api/v1/conversations/<id>/messages/<message id>/media`: the file's bytes with its type. */
export function mediaUrl(conversationId: number, messageId: number): string {
  return `/api/v1/conversations/${String(conversationId)}/messages/${String(messageId)}/media`
}

function get(url: string, token: string | null, signal: AbortSignal | undefined): Promise<Response> {
  const headers: Record<string, string> = { Accept: '*/*' }
  if (token) headers.Authorization = `Bearer ${token}`
  return fetch(url, { headers, signal, credentials: 'same-origin' })
}

/**
 * A message's file as a Blob. Sent with the bearer token, so it cannot be a plain `<img src>`;
 * like apiFetch, an expired token is refreshed once and the request repeated. Failures are
 * ApiError (a 404 problem document when the server has no file: `no_media`,
 * `media_unavailable`).
 */
export async function fetchMedia(conversationId: number, messageId: number, signal?: AbortSignal): Promise<Blob> {
  const url = mediaUrl(conversationId, messageId)
  let response = await get(url, getAccessToken(), signal)
  if (response.status === 401) {
    const problem = await problemFromResponse(response.clone())
    if (problem.code !== 'token_expired') throw problem
    const token = await refreshAccessToken()
    if (!token) throw problem
    response = await get(url, token, signal)
  }
  if (!response.ok) throw await problemFromResponse(response)
  return response.blob()
}

/** Whether the answer means the file is not there (as opposed to a failure worth retrying). */
export function isMissing(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 404 || error.status === 410)
}

/** Not under the messages' key: reading the messages again must not fetch every file again. */
export function mediaQueryKey(conversationId: number, messageId: number | string) {
  return ['media', conversationId, messageId] as const
}

/** A message's file, fetched once `enabled` and kept per message id (the bytes never change). */
export function useMedia(conversationId: number, messageId: number | string, enabled: boolean) {
  return useQuery({
    queryKey: mediaQueryKey(conversationId, messageId),
    queryFn: ({ signal }) => fetchMedia(conversationId, messageId as number, signal),
    // A message only this tab knows (not stored yet) has no file on the server.
    enabled: enabled && typeof messageId === 'number',
    staleTime: Number.POSITIVE_INFINITY,
    // Files are large: let an unseen one go after a few minutes.
    gcTime: 5 * 60_000,
    // Only what may pass by itself (the network, the server's 5xx); never a 4xx answer.
    retry: (failures, error) => failures < 2 && !(error instanceof ApiError && error.status < 500),
    refetchOnWindowFocus: false,
  })
}

interface HeldUrl {
  url: string
  users: number
  timer: ReturnType<typeof setTimeout> | null
}

/** Object URLs by Blob, shared by every component showing the same file. */
const held = new Map<Blob, HeldUrl>()

/** Revokes `blob`'s URL after `ms` unless someone holds it by then: a component that
 * unmounts and mounts again soon after (React's strict mode, a list re-keyed, a render
 * committed a moment after it ran) keeps its URL. */
function revokeLater(blob: Blob, entry: HeldUrl, ms: number): void {
  if (entry.timer !== null) clearTimeout(entry.timer)
  entry.timer = setTimeout(() => {
    entry.timer = null
    if (entry.users > 0) return
    URL.revokeObjectURL(entry.url)
    held.delete(blob)
  }, ms)
}

function urlOf(blob: Blob): HeldUrl {
  let entry = held.get(blob)
  if (!entry) {
    entry = { url: URL.createObjectURL(blob), users: 0, timer: null }
    held.set(blob, entry)
    // Made during a render that may never be shown: let it go unless someone holds it.
    revokeLater(blob, entry, 10_000)
  }
  return entry
}

/** An object URL for `blob` while the component shows it; revoked once no mounted
 * component uses it any more. */
export function useObjectUrl(blob: Blob | undefined): string | null {
  const url = blob ? urlOf(blob).url : null
  useEffect(() => {
    if (!blob) return
    const entry = urlOf(blob)
    entry.users += 1
    if (entry.timer !== null) {
      clearTimeout(entry.timer)
      entry.timer = null
    }
    return () => {
      entry.users -= 1
      if (entry.users <= 0) revokeLater(blob, entry, 1000)
    }
  }, [blob])
  return url
}

/** Whether the element has come near the viewport once (always true without IntersectionObserver). */
export function useSeen(ref: RefObject<Element | null>): boolean {
  const [seen, setSeen] = useState(() => typeof IntersectionObserver === 'undefined')
  useEffect(() => {
    const element = ref.current
    if (seen || !element) return
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) setSeen(true)
      },
      { rootMargin: '200px' },
    )
    observer.observe(element)
    return () => observer.disconnect()
  }, [ref, seen])
  return seen
}
