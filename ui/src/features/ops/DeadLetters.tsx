import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query'
import { useEffect, useRef, useState } from 'react'
import { Button, Dialog } from '@/components'
import { apiFetch } from '@/lib/api'
import { formatDate, t } from '@/lib/i18n'
import { keys, type DeadLetter, type DeadLettersPage } from './api'
import { Alert, errorText, TD, TH } from './parts'

const PAGE_SIZE = 50

type Action = { kind: 'retry' | 'discard'; letter: DeadLetter }

function ConfirmDialog({ action, onClose }: { action: Action | null; onClose: (done: string | null) => void }) {
  const queryClient = useQueryClient()
  const mutation = useMutation({
    mutationFn: async ({ kind, letter }: Action) => {
      const path = `/api/v1/ops/dead-letters/${String(letter.letter_id)}`
      if (kind === 'retry') await apiFetch(`${path}/retry`, { method: 'POST' })
      else await apiFetch(path, { method: 'DELETE' })
    },
    onSuccess: async (_data, { kind }) => {
      await queryClient.invalidateQueries({ queryKey: keys.deadLetters })
      onClose(t(kind === 'retry' ? 'ops.dl.retried' : 'ops.dl.discarded'))
    },
  })
  const retry = action?.kind === 'retry'
  const vars = action ? { type: action.letter.message_type, actor: `${action.letter.kind}/${action.letter.id}` } : { type: '', actor: '' }
  return (
    <Dialog
      open={action !== null}
      onOpenChange={(open) => {
        if (!open) {
          mutation.reset()
          onClose(null)
        }
      }}
      title={t(retry ? 'ops.dl.retryTitle' : 'ops.dl.discardTitle')}
      closeLabel={t('ops.dl.cancel')}
    >
      <p className="text-sm">{t(retry ? 'ops.dl.retryBody' : 'ops.dl.discardBody', vars)}</p>
      <Alert>{mutation.error ? errorText(mutation.error) : null}</Alert>
      <div className="mt-4 flex justify-end">
        <Button
          variant={retry ? 'primary' : 'danger'}
          disabled={mutation.isPending}
          onClick={() => {
            if (action) mutation.mutate(action)
          }}
        >
          {t(retry ? 'ops.dl.confirmRetry' : 'ops.dl.confirmDiscard')}
        </Button>
      </div>
    </Dialog>
  )
}

/** Dead letters, newest first: supervisors see them with redacted payloads; admins see the
 * messages and may retry or discard each one (after a confirmation). `total` (the kinds'
 * dead-letter counters) changing makes the list load again. */
export function DeadLetters({ admin, total }: { admin: boolean; total: number }) {
  const queryClient = useQueryClient()
  const [action, setAction] = useState<Action | null>(null)
  const [notice, setNotice] = useState<string | null>(null)
  const letters = useInfiniteQuery({
    queryKey: keys.deadLetters,
    queryFn: ({ pageParam, signal }) =>
      apiFetch<DeadLettersPage>('/api/v1/ops/dead-letters', { query: { limit: PAGE_SIZE, cursor: pageParam }, signal }),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  })
  // A new dead letter (the kinds' counter moved): list again. Not on the first render, where
  // the query has just been started.
  const seenTotal = useRef(total)
  useEffect(() => {
    if (seenTotal.current === total) return
    seenTotal.current = total
    void queryClient.invalidateQueries({ queryKey: keys.deadLetters })
  }, [total, queryClient])
  const rows = letters.data?.pages.flatMap((p) => p.dead_letters) ?? []
  return (
    <section aria-labelledby="ops-dl-title" className="flex flex-col gap-2">
      <h2 id="ops-dl-title" className="text-lg font-semibold">
        {t('ops.dl.title')}
      </h2>
      <p className="text-xs text-slate-600">
        {t('ops.dl.hint')} {admin ? null : t('ops.dl.redacted')}
      </p>
      <Alert>{letters.error ? errorText(letters.error) : null}</Alert>
      {notice ? (
        <p role="status" className="text-sm text-emerald-800">
          {notice}
        </p>
      ) : null}
      {rows.length === 0 && !letters.isPending ? <p className="text-sm text-slate-600">{t('ops.dl.empty')}</p> : null}
      {rows.length > 0 ? (
        <div className="overflow-x-auto rounded-lg bg-white shadow-sm">
          <table className="w-full text-sm">
            <thead>
              <tr>
                <th scope="col" className={TH}>{t('ops.dl.when')}</th>
                <th scope="col" className={TH}>{t('ops.dl.actor')}</th>
                <th scope="col" className={TH}>{t('ops.dl.type')}</th>
                <th scope="col" className={TH}>{t('ops.dl.error')}</th>
                <th scope="col" className={TH}>{t('ops.dl.attempts')}</th>
                <th scope="col" className={TH}>{t('ops.dl.payload')}</th>
                {admin ? <th scope="col" className={TH}>{t('ops.dl.actions')}</th> : null}
              </tr>
            </thead>
            <tbody>
              {rows.map((d) => (
                <tr key={d.letter_id} className="border-t border-slate-100" data-letter={d.letter_id}>
                  <td className={`${TD} whitespace-nowrap`}>{formatDate(new Date(d.at * 1000))}</td>
                  <td className={TD}>
                    {d.kind}/{d.id}
                  </td>
                  <td className={TD}>{d.message_type}</td>
                  <td className={TD}>
                    <details>
                      <summary className="cursor-pointer">{d.error}</summary>
                      <p className="text-xs font-semibold">{t('ops.dl.traceback')}</p>
                      <pre className="max-h-48 max-w-xl overflow-auto text-xs whitespace-pre-wrap">{d.traceback}</pre>
                    </details>
                  </td>
                  <td className={`${TD} tabular-nums`}>{d.attempts}</td>
                  <td className={TD}>
                    <pre className="max-h-32 max-w-md overflow-auto text-xs whitespace-pre-wrap">{d.message}</pre>
                  </td>
                  {admin ? (
                    <td className={TD}>
                      <div className="flex gap-1">
                        <Button
                          size="sm"
                          variant="secondary"
                          disabled={!d.retryable}
                          title={d.retryable ? undefined : t('ops.dl.notRetryable')}
                          aria-label={`${t('ops.dl.retry')} ${d.message_type} ${d.kind}/${d.id}`}
                          onClick={() => setAction({ kind: 'retry', letter: d })}
                        >
                          {t('ops.dl.retry')}
                        </Button>
                        <Button
                          size="sm"
                          variant="danger"
                          aria-label={`${t('ops.dl.discard')} ${d.message_type} ${d.kind}/${d.id}`}
                          onClick={() => setAction({ kind: 'discard', letter: d })}
                        >
                          {t('ops.dl.discard')}
                        </Button>
                      </div>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {letters.hasNextPage ? (
        <Button variant="secondary" onClick={() => void letters.fetchNextPage()} disabled={letters.isFetchingNextPage}>
          {t('ops.dl.more')}
        </Button>
      ) : null}
      <ConfirmDialog
        action={action}
        onClose={(done) => {
          setAction(null)
          setNotice(done)
        }}
      />
    </section>
  )
}
