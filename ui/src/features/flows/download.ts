import type { FlowDocument } from './types'

/** Offers the document as `<id>.json`, as `pytake flows import` reads it. */
export function downloadFlow(doc: FlowDocument): void {
  const blob = new Blob([JSON.stringify(doc, null, 2) + '\n'], { type: 'application/json' })
  const url = URL.createObjectURL(blob)
  const link = document.createElement('a')
  link.href = url
  link.download = `${doc.id || 'flow'}.json`
  document.body.append(link)
  link.click()
  link.remove()
  // After the click has been handled: revoking at once can cancel the download.
  window.setTimeout(() => URL.revokeObjectURL(url), 1000)
}
