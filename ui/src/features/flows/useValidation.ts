import { useEffect, useState } from 'react'
import { validateFlow, errorText } from './api'
import { setProblems, useEditor } from './store'

/** The pause after an edit before the document is sent to the validator. */
export const VALIDATE_MS = 400

/** Sends the document to `POST /api/v1/flows/validate` once the admin pauses; a newer edit
 * cancels the request in flight. Answers the last failure to reach the validator, if any. */
export function useValidation(): string | null {
  const doc = useEditor((s) => s.doc)
  const [failure, setFailure] = useState<string | null>(null)
  useEffect(() => {
    if (!doc.id) return
    const controller = new AbortController()
    const timer = window.setTimeout(() => {
      validateFlow(doc, controller.signal).then(
        (answer) => {
          setFailure(null)
          setProblems(answer.problems, doc)
        },
        (error: unknown) => {
          if (!controller.signal.aborted) setFailure(errorText(error))
        },
      )
    }, VALIDATE_MS)
    return () => {
      window.clearTimeout(timer)
      controller.abort()
    }
  }, [doc])
  return failure
}
