/**
 * Wraps an async function so that one call runs at a time: callers arriving while it runs
 * await the same promise instead of starting another.
 */
export function singleFlight<T>(fn: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | null = null
  return () => {
    running ??= fn().finally(() => {
      running = null
    })
    return running
  }
}
