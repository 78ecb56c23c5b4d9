/** Whether a key press belongs to a field being typed in (shortcuts must not fire there). */
export function isTextTarget(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false
  if (target.isContentEditable) return true
  const tag = target.tagName
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true
  if (tag !== 'INPUT') return false
  const type = (target as HTMLInputElement).type
  return !['button', 'checkbox', 'radio', 'submit', 'reset', 'range', 'color', 'file'].includes(type)
}

/** Whether a single-key shortcut may act on ``e``: no modifier but Shift, not typing, no
 * dialog open (its own keys are its business). */
export function isShortcut(e: KeyboardEvent): boolean {
  if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return false
  if (isTextTarget(e.target)) return false
  return document.querySelector('[role="dialog"]') === null
}
