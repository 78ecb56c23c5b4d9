"""`PrivacyService`: customers' rights (LGPD) carried out across every store.

A request is a ``data_requests`` row, ``running`` (committed) before its first step; its steps
then run in this order, each recorded in the row's report as it completes:

=============  ==========================================================================
step           what it does
=============  ==========================================================================
``found``      reads who the customer is: conversations, media files, the actor's address
``live``       ends the conversation if it is live (resolved, the agent told
               ``conversation.resolved`` with the reason, the queue lets go), forgets the
               actor's state without a snapshot (`pytake.actors.Router.discard`)
``media``      deletes the files of the customer's media messages from the media directory
``redis``      deletes the actor's hot snapshot (when Redis is configured)
``postgresql`` one transaction: deletes (erasure) or rewrites (anonymisation) every row,
               the customer's own row last, and marks the request ``done`` with its report
               and an audit row
=============  ==========================================================================

Erasure and anonymisation are idempotent and the customer's row goes last, so a request
interrupted anywhere (a crash, ``kill -9``) is simply run again: at the next start of the
server (`PrivacyService.run`) or by ``pytake customers resume``.  An export cannot be resumed
(its client is gone): it is marked ``failed`` and says so.  A step that fails marks the
request ``failed`` with the step and the error's type (never personal data); if even that
cannot be written, the request stays ``running`` and is resumed later.  Callers always learn
which (`DataRequestFailed`).

Without a router (the command line), there is no live actor in this process: a server
running meanwhile notices the finished request within `WATCH_INTERVAL` seconds and ends and
forgets its own live actor for that customer (`PrivacyService.run`).

Reports hold counts, step names, the customer's row id and the actor's address (the business
number's id and that row id); never a phone number, name, BSUID or anything written.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final, TypeVar

import attrs
import trio

from ..actors import Router
from ..contracts import CommandResult, ForgetConversation
from ..errors import StorageUnavailable
from ..messaging import remove_stored_media, stored_media_path
from ..storable import storable_text
from ..store import (
    SYSTEM,
    Actor,
    Database,
    DataRequestKind,
    DataRequestState,
    RedisSnapshotStore,
    record_audit,
    utcnow,
)
from . import _repo as repo
from ._archive import write_archive
from ._errors import CustomerNotFound, DataRequestFailed, DataRequestNotFound
from ._repo import CustomerMatch, RequestRow, Subject

__all__ = ["STEP_DELAY_ENV", "WATCH_INTERVAL", "Export", "PrivacyService"]

log = logging.getLogger("pytake.privacy")

T = TypeVar("T")

#: Seconds between a server's looks for requests finished by another process (the CLI).
WATCH_INTERVAL: Final = 5.0
#: Test hook: seconds to pause after each step (read by the engine from the environment), so
#: a test can kill the server in the middle of a request.  Never set in production.
STEP_DELAY_ENV: Final = "PYTAKE_TEST_PRIVACY_STEP_DELAY"
#: How long ending a live conversation may take (its actor may be busy with a turn).
LIVE_TIMEOUT: Final = 30.0
_CONVERSATION: Final = "conversation"
_REASONS: Final = {DataRequestKind.ERASE: "erased", DataRequestKind.ANONYMISE: "anonymised"}
_ACTIONS: Final = {DataRequestKind.ERASE: "customer.erase",
                   DataRequestKind.ANONYMISE: "customer.anonymise",
                   DataRequestKind.EXPORT: "customer.export"}


@attrs.frozen
class Export:
    """A finished export: its request and the archive, a private temporary file the caller
    delivers and then deletes."""

    request: RequestRow
    path: Path
    size: int


class PrivacyService:
    """Finds customers and carries out their data requests; see the module docstring.

    ``router``: the node's actors (``None`` on the command line); ``redis``: the hot
    snapshot store when Redis is configured; ``publish``: the outbound webhook feed
    (`pytake.modules.EventFeed.publish`), which gets ``customer.erased``; ``forget``: the
    feed's `~pytake.modules.EventFeed.forget`, told the erased conversations (their events
    still waiting are not delivered)."""

    def __init__(
        self,
        db: Database,
        media_dir: Path | str,
        *,
        router: Router | None = None,
        redis: RedisSnapshotStore | None = None,
        publish: Callable[[str, dict[str, Any]], None] | None = None,
        forget: Callable[[Iterable[int]], None] | None = None,
        via: str = "api",
        step_delay: float = 0.0,
    ) -> None:
        self.db = db
        self.media_dir = Path(media_dir)
        self.router = router
        self.redis = redis
        self.publish = publish
        self.forget = forget
        self.via = via
        self.step_delay = step_delay
        #: requests this process ran (the watch leaves them alone)
        self._mine: set[int] = set()

    @classmethod
    def step_delay_from_environment(cls) -> float:
        """The `STEP_DELAY_ENV` test hook's value (0 unless a test set it)."""
        raw = os.environ.get(STEP_DELAY_ENV, "")
        try:
            value = float(raw) if raw else 0.0
        except ValueError:
            return 0.0
        return value if math.isfinite(value) and value > 0 else 0.0

    # --- reading ---------------------------------------------------------------------------

    async def find(self, q: str, *, before: int | None = None, limit: int = 50,
                   actor: Actor = SYSTEM) -> list[CustomerMatch]:
        """Customers by phone, wa_id, BSUID or name (see `repo.find_customers`); the lookup
        is audited (how many were found, never what was asked)."""

        wanted = storable_text(q)  # no NUL reaches PostgreSQL

        def find(session: Any) -> list[CustomerMatch]:
            found = repo.find_customers(session, wanted, before, limit)
            record_audit(session, "customer.lookup", actor, target_type="customer",
                         target_id=None, details={"results": len(found)})
            return found

        return await self.db.run(find)

    async def request(self, request_id: int) -> RequestRow:
        found = await self.db.run(repo.request_row, request_id, readonly=True)
        if found is None:
            raise DataRequestNotFound(request_id)
        return found

    async def requests(self, *, before: int | None = None, limit: int = 50,
                       customer_id: int | None = None) -> list[RequestRow]:
        """Requests, newest first, ids below ``before``."""
        return await self.db.run(repo.request_page, before, limit, customer_id,
                                 readonly=True)

    # --- the three requests ----------------------------------------------------------------

    async def export(self, customer_id: int, *, actor: Actor = SYSTEM,
                     directory: str | None = None) -> Export:
        """Everything held about the customer in one zip (see `Export`)."""
        subject = await self._subject(customer_id)
        request = await self._start(DataRequestKind.EXPORT, customer_id, actor)
        report = self._report(request, subject)
        path: Path | None = None
        try:
            record = await self.db.run(repo.customer_record, subject, readonly=True)
            files = [p for p in (stored_media_path(self.media_dir, m)
                                 for m in sorted(subject.media_ids)) if p is not None]
            path, count = await trio.to_thread.run_sync(write_archive, record, files,
                                                        directory)
            size = (await trio.Path(str(path)).stat()).st_size
            report["postgresql"] = _record_counts(record)
            report["media"] = {"files": count}
            report["bytes"] = size
            await self._step(request, report, "archive")
            done = await self.db.run(repo.finish_request, request.id, report, actor,
                                     _ACTIONS[DataRequestKind.EXPORT])
        except BaseException as exc:
            if path is not None:
                path.unlink(missing_ok=True)
            # Cancelled too (the client went away): the request says it failed.
            failure = await self._failed(request, report, "archive", exc)
            if isinstance(exc, Exception):
                raise failure from exc
            raise
        assert done is not None and path is not None
        return Export(done, path, size)

    async def anonymise(self, customer_id: int, *, actor: Actor = SYSTEM) -> RequestRow:
        """Replace the customer's personal data, keep their conversations' rows for the
        aggregates; run again, it does nothing more."""
        await self._subject(customer_id)
        request = await self._start(DataRequestKind.ANONYMISE, customer_id, actor)
        return await self._to_the_end(_bind(self._carry_out, request, actor))

    async def erase(self, customer_id: int, *,
                    actor: Actor = SYSTEM) -> tuple[RequestRow, bool]:
        """Remove every trace of the customer; the request and whether they were erased
        already (the earlier erasure's request, nothing done now)."""
        found = await self.db.run(repo.subject_of, customer_id, readonly=True)
        if found is None:
            earlier = await self.db.run(repo.latest_request, customer_id,
                                        DataRequestKind.ERASE, DataRequestState.DONE,
                                        readonly=True)
            if earlier is None:
                raise CustomerNotFound(customer_id)
            return earlier, True
        request = await self._start(DataRequestKind.ERASE, customer_id, actor)
        return await self._to_the_end(_bind(self._carry_out, request, actor)), False

    async def resume(self, *, actor: Actor = SYSTEM) -> list[RequestRow]:
        """Every request left ``running`` (by a process that died): erasures and
        anonymisations are run again to the end, exports are marked failed.  What became
        of each, in id order."""
        out = []
        for request in await self.db.run(repo.running_requests, readonly=True):
            if request.kind == DataRequestKind.EXPORT:
                failed = await self.db.run(
                    repo.fail_request, request.id,
                    "interrupted before the archive was delivered (the process stopped); "
                    "export again")
                if failed is not None:
                    out.append(failed)
                continue
            again = await self.db.run(repo.resume_request, request.id)
            if again is None:
                continue  # finished meanwhile
            log.info("resuming data request %d (%s of customer %d, attempt %d)",
                     again.id, again.kind, again.customer_id, again.attempts)
            self._mine.add(again.id)
            try:
                out.append(await self._to_the_end(_bind(self._carry_out, again, actor)))
            except DataRequestFailed as exc:
                out.append(await self.request(exc.request_id))
        return out

    # --- the server's service --------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                  ) -> None:
        """The server's side: resume what an earlier process left running, then end the live
        actors of customers another process (the CLI) erased or anonymised."""
        since = utcnow()
        task_status.started()
        try:
            await self.resume()
        except Exception:
            log.exception("resuming data requests failed; run 'pytake customers resume' or "
                          "restart")
        while True:
            await trio.sleep(WATCH_INTERVAL)
            try:
                since = await self._watch(since)
            except StorageUnavailable as exc:
                log.debug("data requests not checked: %s", exc)
            except Exception:
                log.exception("ending the live conversations of requests carried out "
                              "elsewhere failed; trying again")

    async def _watch(self, since: datetime) -> datetime:
        """End and forget the live actors of requests another process finished since
        ``since``; the time to look from next."""
        if self.router is None:
            return since
        now = utcnow()
        for request in await self.db.run(repo.finished_since, since, readonly=True):
            address = request.report.get("actor")
            if request.id in self._mine or not isinstance(address, str):
                continue
            self._mine.add(request.id)
            if self.router.is_live(_CONVERSATION, address):
                log.info("data request %d was carried out elsewhere: ending the live "
                         "conversation %s here", request.id, address)
                # Its rows are gone (or rewritten) already: nothing is logged.
                await self._end_live(address, _REASONS[DataRequestKind(request.kind)],
                                     record=False)
                await self.db.run(repo.delete_snapshot, address)
                await self._delete_hot(address)
        # Overlap the windows: a request finishing while this looked is seen next time.
        return now - timedelta(seconds=WATCH_INTERVAL)

    # --- carrying a request out ------------------------------------------------------------

    async def _subject(self, customer_id: int) -> Subject:
        found = await self.db.run(repo.subject_of, customer_id, readonly=True)
        if found is None:
            raise CustomerNotFound(customer_id)
        return found

    async def _start(self, kind: DataRequestKind, customer_id: int,
                     actor: Actor) -> RequestRow:
        request = await self.db.run(repo.start_request, kind, customer_id, actor.user_id,
                                    self.via)
        self._mine.add(request.id)
        return request

    async def _to_the_end(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work`` to its end even if the caller is cancelled (a client that goes away,
        a shutdown): a request is never left half done by this process.  Each step has its
        own timeout, so this ends."""
        with trio.CancelScope(shield=True):
            result = await work()
        return result

    def _report(self, request: RequestRow, subject: Subject | None) -> dict[str, Any]:
        report: dict[str, Any] = {"kind": request.kind, "customer_id": request.customer_id,
                                  "attempt": request.attempts, "steps": []}
        if subject is not None:
            report["actor"] = subject.address
            report["found"] = {"conversations": len(subject.conversation_ids),
                               "media": len(subject.media_ids),
                               "anonymised_before": subject.anonymised}
        return report

    async def _step(self, request: RequestRow, report: dict[str, Any], name: str) -> None:
        report["steps"].append(name)
        await self.db.run(repo.touch_request, request.id, report)
        if self.step_delay:
            await trio.sleep(self.step_delay)

    async def _carry_out(self, request: RequestRow, actor: Actor) -> RequestRow:
        kind = DataRequestKind(request.kind)
        reason = _REASONS[kind]
        step = "found"
        report = self._report(request, None)
        try:
            subject = await self.db.run(repo.subject_of, request.customer_id, readonly=True)
            report = self._report(request, subject)
            if subject is None:
                # Erased meanwhile (another run of the same request, or another request).
                report["nothing_left"] = True
                done = await self.db.run(repo.finish_request, request.id, report, actor,
                                         _ACTIONS[kind])
                return done or await self.request(request.id)
            await self._step(request, report, step)
            step = "live"
            report["live"] = await self._end_live(subject.address, reason)
            if kind is DataRequestKind.ERASE and self.forget is not None:
                self.forget(subject.conversation_ids)
            await self._step(request, report, step)
            step = "media"
            report["media"] = {"files": await self._remove_media(subject)}
            await self._step(request, report, step)
            step = "redis"
            report["redis"] = ({"configured": False} if self.redis is None else
                               {"actor_snapshots": await self._delete_hot(subject.address)})
            await self._step(request, report, step)
            step = "postgresql"
            report["steps"].append(step)
            done, last = await self.db.run(_finish_in_database, subject, request.id,
                                           report, actor, kind)
        except Exception as exc:
            raise await self._failed(request, report, step, exc) from exc
        if done is None:
            return await self.request(request.id)  # finished by a concurrent run
        if kind is DataRequestKind.ERASE:
            if self.forget is not None:
                self.forget(last.conversation_ids)
            await self._after_erasure(last)
            if self.publish is not None:
                self.publish("customer.erased", {"customer_id": last.customer_id,
                                                 "request_id": done.id})
        return done

    async def _after_erasure(self, subject: Subject) -> None:
        """Best effort, after the commit: anything the customer's actor or a download left
        while the request ran (a message they sent meanwhile) goes too."""
        try:
            if self.router is not None:
                await self.router.discard(_CONVERSATION, subject.address,
                                          timeout=LIVE_TIMEOUT)
            await self._remove_media(subject)
            await self._delete_hot(subject.address)
        except Exception:
            log.warning("after erasing customer %d: the final sweep failed",
                        subject.customer_id, exc_info=True)

    async def _failed(self, request: RequestRow, report: dict[str, Any], step: str,
                      exc: BaseException) -> DataRequestFailed:
        # The error's type, and its text only when it is about storage: a database error's
        # text may quote the row (the customer's data), which must not be kept.
        detail = str(exc) if isinstance(exc, StorageUnavailable | OSError) else ""
        error = f"step {step}: {type(exc).__name__}" + (f": {detail}" if detail else "")
        log.error("data request %d (%s of customer %d) failed at step %s", request.id,
                  request.kind, request.customer_id, step, exc_info=exc)
        state = DataRequestState.FAILED.value
        try:
            with trio.CancelScope(shield=True):
                await self.db.run(repo.fail_request, request.id, error, report)
        except StorageUnavailable:
            state = DataRequestState.RUNNING.value
        return DataRequestFailed(request.id, state, error)

    async def _end_live(self, address: str, reason: str, *,
                        record: bool = True) -> dict[str, Any]:
        if self.router is None:
            return {"in_this_process": False}
        result = await self.router.ask(_CONVERSATION, address,
                                       ForgetConversation(reason, record),
                                       timeout=LIVE_TIMEOUT)
        await self.router.discard(_CONVERSATION, address, timeout=LIVE_TIMEOUT)
        data = result.data if isinstance(result, CommandResult) else {}
        told = data.get("told") or []
        return {"was": data.get("was"), "agents_told": len(told)}

    async def _remove_media(self, subject: Subject) -> int:
        media_dir = self.media_dir

        def remove() -> int:
            return sum(remove_stored_media(media_dir, m) for m in sorted(subject.media_ids))

        return await trio.to_thread.run_sync(remove)

    async def _delete_hot(self, address: str) -> int:
        if self.redis is None:
            return 0
        return await self.redis.delete(_CONVERSATION, [address])


def _finish_in_database(session: Any, subject: Subject, request_id: int,
                        report: dict[str, Any], actor: Actor,
                        kind: DataRequestKind) -> tuple[RequestRow | None, Subject]:
    """The last step, one transaction: the rows, then the request marked done; and the
    subject as found in this transaction."""
    current = repo.subject_of(session, subject.customer_id)
    if current is None:
        report["nothing_left"] = True
    else:
        # Read again inside the transaction: a conversation or a file that came since the
        # first read (the customer wrote meanwhile) goes too.
        subject = current
        rows = repo.erase_rows if kind is DataRequestKind.ERASE else repo.anonymise_rows
        report["postgresql"] = rows(session, subject)
    return repo.finish_request(session, request_id, report, actor, _ACTIONS[kind]), subject


def _record_counts(record: dict[str, Any]) -> dict[str, int]:
    conversations = record.get("conversations") or []
    return {
        "customers": 1,
        "conversations": len(conversations),
        "messages": sum(len(c["messages"]) for c in conversations),
        "conversation_events": sum(len(c["events"]) for c in conversations),
        "flow_executions": sum(len(c["flow_steps"]) for c in conversations),
        "agent_events": len(record.get("agent_events") or []),
        "inbox": len(record.get("webhook_bodies") or []),
        "outbox_without_message": len(record.get("outbound_requests") or []),
        "webhook_deliveries": len(record.get("webhook_deliveries") or []),
        "actor_snapshots": 0 if record.get("conversation_state") is None else 1,
    }


def _bind(fn: Callable[[RequestRow, Actor], Awaitable[T]], request: RequestRow,
          actor: Actor) -> Callable[[], Awaitable[T]]:
    async def call() -> T:
        return await fn(request, actor)

    return call
