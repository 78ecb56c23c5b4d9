/** An RFC 9457 problem document (or any failed answer) as an error with `status`/`code`/`field`/`detail`. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string | null
  readonly field: string | null
  readonly detail: string
  readonly retryAfter: number | null
  /** The whole answer, for what a feature's refusals add (a flow's `problems`). */
  readonly body: Readonly<Record<string, unknown>>

  constructor(init: {
    status: number
    code?: string | null
    field?: string | null
    detail: string
    retryAfter?: number | null
    body?: Record<string, unknown>
  }) {
    super(init.detail)
    this.name = 'ApiError'
    this.status = init.status
    this.code = init.code ?? null
    this.field = init.field ?? null
    this.detail = init.detail
    this.retryAfter = init.retryAfter ?? null
    this.body = init.body ?? {}
  }
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null
}

/** Builds an ApiError from a failed response (problem JSON, legacy `{"error"}` or anything else). */
export async function problemFromResponse(response: Response): Promise<ApiError> {
  let body: unknown = null
  const type = response.headers.get('content-type') ?? ''
  if (type.includes('json')) {
    try {
      body = await response.json()
    } catch {
      body = null
    }
  }
  const doc = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {}
  const retry = Number(response.headers.get('retry-after'))
  return new ApiError({
    status: response.status,
    code: str(doc.code),
    field: str(doc.field),
    detail:
      str(doc.detail) ??
      str(doc.error) ??
      str(doc.title) ??
      (response.statusText || `request failed with status ${String(response.status)}`),
    retryAfter: Number.isFinite(retry) && retry > 0 ? retry : null,
    body: doc,
  })
}

export function isApiError(error: unknown, code?: string): error is ApiError {
  return error instanceof ApiError && (code === undefined || error.code === code)
}
