import { Dialog } from '@/components'
import { t, type MessageKey } from '@/lib/i18n'

const shortcuts: [string[], MessageKey][] = [
  [['J'], 'desk.shortcutNext'],
  [['K'], 'desk.shortcutPrev'],
  [['R'], 'desk.shortcutReply'],
  [['N'], 'desk.shortcutNote'],
  [['T'], 'desk.shortcutTransfer'],
  [['Shift', 'E'], 'desk.shortcutResolve'],
  [['Ctrl', 'K'], 'desk.palette'],
  [['?'], 'desk.shortcutHelp'],
  [['Enter'], 'desk.shortcutSend'],
  [['Shift', 'Enter'], 'desk.shortcutNewline'],
  [['/'], 'desk.shortcutCanned'],
]

export function ShortcutsDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (open: boolean) => void }) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange} title={t('desk.shortcuts')} closeLabel={t('common.close')}>
      <dl className="grid grid-cols-[auto_1fr] gap-x-6 gap-y-2 text-sm">
        {shortcuts.map(([keys, label]) => (
          <div key={label} className="contents">
            <dt className="flex gap-1">
              {keys.map((k) => (
                <kbd key={k} className="rounded border border-slate-300 bg-slate-50 px-1.5 font-mono text-xs">
                  {k}
                </kbd>
              ))}
            </dt>
            <dd>{t(label)}</dd>
          </div>
        ))}
      </dl>
    </Dialog>
  )
}
