"""The composition root: settings in, a running PyTake out.

``Engine`` builds the stores, the actor router and the root supervisor from
:class:`pytake.config.Settings`; the CLI and the tests run it, and the web edge reads from it
(readiness, metrics, the supervision tree).  Nothing else constructs these pieces.

The root supervisor (``pytake``, one-for-one) starts, in order: ``redis`` (when configured),
``database-writer`` (the group committer), ``webhook-writer`` (the inbox's own committer),
``events-writer`` (conversation logs and agent events),
``actors`` (the router and one child per actor kind: conversation, agent, queue),
``timers`` (deadlines delivered as actor messages), ``queues`` (wakes every team's queue
once, re-arming offer deadlines), ``journal`` (which replays unapplied journal rows before
the engine reports ready, then prunes applied ones), ``whatsapp-inbox`` (stored webhook
bodies → actors), ``whatsapp-outbox``, ``whatsapp-media``, ``webhook-events``,
``data-requests`` (customers' data requests; resumes those a crash interrupted),
``ops-sampler`` (the operations dashboard's numbers, docs/operations.md) and, with a WABA id,
``whatsapp-templates``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import trio
from prometheus_client import CollectorRegistry

from .actors import ActorKind, DeadLetter, Router, SnapshotStore, Timers
from .agents import (
    AgentActor,
    AgentDirectory,
    AgentEventLog,
    AgentServices,
    AgentSockets,
)
from .config import Settings, default_flows, keyword_pairs
from .contracts import FORMER_TYPE_NAMES, JOURNALED, QueueTick, ReloadAgent, ReloadTeam
from .conversations import (
    AutomaticReplies,
    ConversationActor,
    ConversationDirectory,
    ConversationLog,
    ConversationServices,
    RoutingConfig,
    TeamFeed,
)
from .errors import StorageUnavailable
from .flowrun import FlowLibrary, ModuleCalls
from .identity import IdentityService
from .messaging import (
    CloudApiClient,
    InboxOutcome,
    InboxProcessor,
    MediaDownloader,
    NumberBook,
    NumberRepository,
    OutboxSender,
    SendGovernor,
    TemplateCatalogue,
    WebhookMetrics,
)
from .modules import EventFeed
from .ops import ConversationPulse, Probes, Sampler, child_crashes, summarise
from .privacy import PrivacyService
from .queues import (
    QueueActor,
    QueueServices,
    TeamDirectory,
    TeamLookup,
    TeamNames,
    TeamResolver,
    all_team_ids,
)
from .store import (
    Database,
    GroupCommitter,
    RedisConnection,
    RedisSnapshotStore,
    RetentionSweeper,
    RuntimeSettings,
    SchemaError,
    SqlActorJournal,
    SqlDeadLetters,
    SqlSnapshotStore,
    TieredSnapshotStore,
    WriterProcess,
    current,
    head,
    upgrade,
)
from .supervisor import (
    Backoff,
    ChildSpec,
    Intensity,
    SupervisionMetrics,
    Supervisor,
    TreeNode,
)

log = logging.getLogger("pytake.engine")

#: The group committers, by the names of their services (and writer process channels).
WRITERS = ("database-writer", "webhook-writer", "events-writer")
#: Reader channels of the database writer process, for the reads on a message's path
#: (`Database.read`: an actor's snapshot, a conversation's owner, pending inbox rows).
READERS = 2


def backoff_from(settings: Settings) -> Backoff:
    actor = settings.actors
    return Backoff(
        initial=actor.backoff_initial, maximum=actor.backoff_max, multiplier=2.0, jitter=0.2
    )


def actor_kind(settings: Settings, actor_class: type, **overrides: Any) -> ActorKind:
    """An :class:`ActorKind` for ``actor_class`` with the configured defaults."""
    actor = settings.actors
    options: dict[str, Any] = {
        "idle_timeout": actor.idle_timeout,
        "mailbox_size": actor.mailbox_size,
        "poison_threshold": actor.poison_threshold,
        "backoff": backoff_from(settings),
        "snapshot_interval": actor.snapshot_interval,
    }
    options.update(overrides)
    return ActorKind(actor_class, **options)


class Engine:
    """Settings, stores, the actor router and the root supervisor.

    Lifecycle: ``await nursery.start(engine.run)`` (returns once ready: migrations applied,
    journal replayed), then ``await engine.aclose()`` for a clean shutdown: stop accepting,
    drain mailboxes up to ``actors.drain_deadline`` seconds, snapshot every actor, stop.
    ``journaled`` lists the message classes that may go through ``router.tell_durable``.
    """

    def __init__(
        self,
        settings: Settings,
        kinds: Sequence[ActorKind] = (),
        journaled: Sequence[type] = (),
    ) -> None:
        self.settings = settings
        self.registry = CollectorRegistry()
        self._supervision_metrics = SupervisionMetrics(self.registry)
        self.backoff = backoff_from(settings)
        actor = settings.actors
        self.intensity = Intensity(max_restarts=actor.max_restarts, period=actor.restart_period)

        self.db = Database(settings.database_url, max_threads=settings.database_threads)
        self.writer_process: WriterProcess | None = None
        if settings.database_writer_processes and self.db.on_postgresql:
            self.writer_process = WriterProcess(
                self.db.url, channels=WRITERS, readers=READERS, log_level=settings.log_level
            )
            self.db.reader = self.writer_process.read
        self.committer = self._committer("database-writer")
        # Webhook bodies get a writer of their own: an acknowledgement must never wait behind
        # a transaction full of inbox processing (they need no ordering with other writes).
        self.inbox_committer = self._committer("webhook-writer")
        # Conversation logs and agent events get a third: they are on the path from a customer
        # message to the agent's screen, which must not queue behind snapshots and outboxes.
        self.events_committer = self._committer("events-writer")
        self.sql_snapshots = SqlSnapshotStore(self.db, self.committer)
        self.redis: RedisConnection | None = None
        snapshots: SnapshotStore = self.sql_snapshots
        if settings.redis_url:
            self.redis = RedisConnection(settings.redis_url, prefix=settings.redis_prefix)
            snapshots = TieredSnapshotStore(RedisSnapshotStore(self.redis), self.sql_snapshots)
        self.snapshots = snapshots
        self.dead_letter_store = SqlDeadLetters(self.db, self.committer)
        self.router = Router(
            snapshots,
            self.dead_letter_store,
            intensity=self.intensity,
            backoff=self.backoff,
            observer=self._supervision_metrics,
        )
        self.timers = Timers(self.router)
        self.sockets = AgentSockets(settings.agent_send_queue)
        self.agent_events = AgentEventLog(self.db, self.events_committer)
        self.conversations = ConversationDirectory(self.db)
        self.modules = ModuleCalls(self.db, settings.secret_key_list, self.registry)
        # TOTP keys are sealed like module secrets: with a key derived from the secret key.
        self.identity = IdentityService.from_settings(self.db, settings, sealer=self.modules.box)
        self.event_feed = EventFeed(self.modules.webhook_delivery())
        #: supervisors' live view of their teams' conversations (the agent socket's watch)
        self.team_feed = TeamFeed()
        #: service levels (first response, handle time, resolutions) from the committed log
        self.pulse = ConversationPulse(self.registry)
        # Flow steps are written in the turn that also records the conversation's messages:
        # the same writer puts them in the same transaction.
        self.flows = FlowLibrary(self.db, self.events_committer,
                                 node_types=self.modules.node_types)
        self.agent_services = AgentServices(
            events=self.agent_events,
            sockets=self.sockets,
            directory=AgentDirectory(self.db),
            timers=self.timers,
            offline_grace=settings.agent_offline_grace,
        )
        self.journal = SqlActorJournal(self.db, self.committer, self.router)
        self.journal.register(*JOURNALED, *journaled)
        self.journal.register_former_names(FORMER_TYPE_NAMES)
        self.webhook_metrics = WebhookMetrics(self.registry)
        numbers = [n.strip() for n in settings.whatsapp_phone_number_ids.split(",") if n.strip()]
        self.inbox = InboxProcessor(
            self.db,
            self.committer,
            self.router,
            accepted_numbers=numbers,
            on_outcome=self._after_inbox_batch,
            backlog_limit=settings.whatsapp_inbox_backlog_limit,
        )
        self.inbox.watch(self.inbox_committer)
        self.cloud_api = CloudApiClient(
            settings.whatsapp_api_base,
            settings.whatsapp_api_version,
            settings.whatsapp_access_token,
        )
        self.templates = TemplateCatalogue()
        self.outbox = OutboxSender(
            self.db,
            self.cloud_api,
            # The conversation log's writer: a bot's answer commits in one transaction with
            # the record of the turn that caused it (see ConversationActor._inbound).
            committer=self.events_committer,
            governor=lambda number: SendGovernor(
                number,
                rate=settings.whatsapp_send_rate,
                pair_interval=settings.whatsapp_pair_interval,
            ),
            templates=self.templates,
        )
        # Business numbers added over the API: their tokens for the client, which ones the
        # inbox accepts (the environment's number stays the default; see messaging._numbers).
        self.numbers = NumberBook(NumberRepository(self.db, self.modules.box),
                                  default_numbers=numbers, inbox=self.inbox, outbox=self.outbox)
        self.cloud_api.tokens = self.numbers.token_for
        self.media = MediaDownloader(self.cloud_api, settings.whatsapp_media_dir)
        keep = settings.retention
        self.retention = RetentionSweeper(
            self.db, Path(settings.whatsapp_media_dir), lambda: {
                "messages": keep.messages_days, "media": keep.media_days,
                "inbox": keep.inbox_days, "agent_events": keep.agent_events_days,
                "deliveries": keep.deliveries_days, "audit": keep.audit_days},
            registry=self.registry, interval=keep.interval, batch=keep.batch)
        default_flow, number_flows = default_flows(settings.flows_default)
        team_names = self._team_names = TeamNames(self.db)
        self.teams = TeamDirectory(self.db)
        conversation_services = ConversationServices(
            log=ConversationLog(self.events_committer, self.db, on_event=self._conversation_event,
                                on_state=self.team_feed.publish),
            timers=self.timers,
            teams=TeamLookup(team_names, self.teams),
            routing=RoutingConfig(
                default_team=TeamResolver(team_names, settings.routing_default_team),
                reopen_window=settings.routing_reopen_window,
                burst_gap=settings.routing_burst_gap,
                default_flow=default_flow,
                number_flows=number_flows,
                keywords=keyword_pairs(settings.flows_keywords),
            ),
            outbox=self.outbox,
            replies=AutomaticReplies(),
            flows=self.flows,
            modules=self.modules,
        )
        self.conversation_services = conversation_services
        # Customers' data requests (LGPD): exports, anonymisations, erasures, across the
        # database, Redis, the media directory and the live conversation actors.
        self.privacy = PrivacyService(
            self.db, settings.whatsapp_media_dir, router=self.router,
            redis=RedisSnapshotStore(self.redis) if self.redis is not None else None,
            publish=self.event_feed.publish, forget=self.event_feed.forget,
            step_delay=PrivacyService.step_delay_from_environment(),
        )
        # Settings changed over the API (/api/v1/settings) apply without a restart.
        self.runtime = RuntimeSettings(self.db, settings)
        self.runtime.on_change(self._apply_runtime)
        queue_services = QueueServices(
            db=self.db, teams=self.teams, connections=self.sockets, timers=self.timers
        )
        for kind in (
            actor_kind(settings, ConversationActor, services=conversation_services),
            actor_kind(settings, AgentActor, services=self.agent_services),
            actor_kind(settings, QueueActor, services=queue_services),
            *kinds,
        ):
            self.router.register(kind)
        self.registry.register(self.router.metrics_collector())
        self.probes = Probes(self.router, self.db, now=self.timers.now, outbox=self.outbox,
                             presence=self.agent_services.presence,
                             connected=lambda: len(self.sockets.connected_agents()))
        self.registry.register(self.probes)
        self.ops = Sampler(self.registry, interval=settings.ops_sample_interval,
                           refresh=self.probes.refresh, summary=self.supervision_summary)

        children: list[ChildSpec] = []
        if self.redis is not None:
            children.append(ChildSpec(id="redis", start=self.redis.run))
        children += [
            ChildSpec(id="database-writer", start=self.committer.run),
            ChildSpec(id="webhook-writer", start=self.inbox_committer.run),
            ChildSpec(id="events-writer", start=self.events_committer.run),
            ChildSpec(id="runtime-settings", start=self.runtime.run),
            ChildSpec(id="account-checks", start=self.identity.keep_accounts_fresh),
            ChildSpec(id="whatsapp-numbers", start=self.numbers.run),
            self.router.as_child(),
            ChildSpec(id="timers", start=self.timers.run),
            ChildSpec(id="queues", start=self._wake_queues),
            ChildSpec(id="journal", start=self.journal.run),
            ChildSpec(id="whatsapp-inbox", start=self.inbox.run),
            ChildSpec(id="whatsapp-outbox", start=self.outbox.run),
            ChildSpec(id="whatsapp-media", start=self.media.run),
            ChildSpec(id="webhook-events", start=self.event_feed.run),
            # After the journal's replay: resumes data requests a crash interrupted.
            ChildSpec(id="data-requests", start=self.privacy.run),
            ChildSpec(id="ops-sampler", start=self.ops.run),
        ]
        if settings.whatsapp_waba_id:
            children.append(ChildSpec(id="whatsapp-templates", start=self._sync_templates))
        self.root = Supervisor(
            "pytake",
            children,
            intensity=self.intensity,
            backoff=self.backoff,
            observer=self._supervision_metrics,
        )
        self.ready = False
        self._scope = trio.CancelScope()
        self._stopped = trio.Event()

    async def _sync_templates(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        task_status.started()
        while True:
            try:
                await self.templates.sync(self.cloud_api, self.settings.whatsapp_waba_id)
                await trio.sleep(3600)
            except Exception as exc:  # the Graph API down must not stop anything else
                log.warning("template catalogue sync failed (%s); retrying in 60 s", exc)
                await trio.sleep(60)

    async def team_changed(self, team_id: int) -> None:
        """A team or its members changed: its queue and the connected agents re-read them."""
        await self.router.tell("queue", str(team_id), ReloadTeam())
        for agent in self.sockets.connected_agents():
            await self.router.tell("agent", agent, ReloadAgent())

    def _apply_runtime(self, settings: Settings) -> None:
        """Put the live settings (`pytake.store.LIVE_SETTINGS`) where they are read at use
        time: the next conversation turn, disconnection or webhook sees them."""
        self.inbox.backlog_limit = settings.whatsapp_inbox_backlog_limit
        self.agent_services.offline_grace = settings.agent_offline_grace
        default_flow, number_flows = default_flows(settings.flows_default)
        self.conversation_services.routing = attrs.evolve(
            self.conversation_services.routing,
            default_team=TeamResolver(self._team_names, settings.routing_default_team),
            reopen_window=settings.routing_reopen_window,
            burst_gap=settings.routing_burst_gap,
            default_flow=default_flow,
            number_flows=number_flows,
            keywords=keyword_pairs(settings.flows_keywords),
        )

    def _conversation_event(self, type: str, data: dict[str, Any]) -> None:
        self.event_feed.publish(type, data)
        self.pulse.observe(type, data)

    def presence(self, user_id: int) -> str:
        return self.agent_services.presence.get(str(user_id), "offline")

    async def _wake_queues(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Wake every team's queue once at start, so offers that were outstanding when the
        last process stopped get their deadline timers again."""
        for team in await all_team_ids(self.db):
            await self.router.tell("queue", team, QueueTick())
        task_status.started()
        await trio.sleep_forever()

    def _after_inbox_batch(self, outcome: InboxOutcome) -> None:
        """After a committed inbox row: start media downloads, apply template updates, count."""
        for request in outcome.media:
            if not self.media.submit_nowait(request):
                log.warning("media queue full; %s not downloaded now", request.media_id)
        for update in outcome.template_updates:
            self.templates.apply_status_update(update.template_name, update.language, update.event)
        inbound = self.webhook_metrics.inbound
        for label, count in (
            ("stored", outcome.stored),
            ("duplicate", outcome.duplicates),
            ("unsupported", outcome.unsupported),
            ("dead_letter", (1 if outcome.dead else 0) + outcome.dead_elements),
        ):
            if count:
                inbound.labels(label).inc(count)

    async def _prepare_database(self) -> None:
        url = self.settings.database_url
        if self.settings.database_auto_migrate:
            revision = await trio.to_thread.run_sync(upgrade, url)
            log.info("database at revision %s", revision)
            return
        at, newest = await trio.to_thread.run_sync(current, url), head()
        if at != newest:
            raise SchemaError(
                f"the database is at revision {at or 'none'}, this PyTake needs {newest}: "
                "run `pytake db upgrade` (or set database_auto_migrate)"
            )

    def _committer(self, name: str) -> GroupCommitter:
        if self.writer_process is None:
            return GroupCommitter(self.db)
        return GroupCommitter(self.db, executor=self.writer_process.executor(name))

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Prepare the database, then run the root supervisor until :meth:`aclose`."""
        engine = self

        class _Started:
            def started(self, value: object = None) -> None:
                engine.ready = True
                task_status.started()

        try:
            with self._scope:
                await self._prepare_database()
                if self.writer_process is not None:
                    await self.writer_process.start()
                await self.root.run(task_status=_Started())
        finally:
            self.ready = False
            if self.writer_process is not None:
                with trio.CancelScope(shield=True):
                    await self.writer_process.aclose()
            self._stopped.set()

    def supervision_tree(self, actor_limit: int = 100) -> TreeNode:
        self.router.actor_limit = actor_limit
        return self.root.tree()

    def supervision_summary(self) -> dict[str, Any]:
        """Supervisors, services and actor kinds with their counters and mailbox hot spots
        (what the operations dashboard's live socket sends each tick)."""
        return summarise(self.supervision_tree(0), self.router,
                         child_crashes(self._supervision_metrics.crashes.collect()))

    async def dead_letters(self, limit: int = 100, kind: str | None = None) -> Sequence[DeadLetter]:
        """The newest poison messages (see ``GET /api/v1/ops/dead-letters``)."""
        return await self.router.dead_letters.list(limit, kind)

    async def dead_letter(self, letter_id: int) -> DeadLetter | None:
        return await self.router.dead_letters.get(letter_id)

    def holds_dead_letter(self, letter_id: int) -> bool:
        """Whether this process still holds the letter's message (it can be retried)."""
        return self.dead_letter_store.held.get(letter_id) is not None

    async def retry_dead_letter(self, letter: DeadLetter) -> None:
        """Deliver ``letter``'s message to its actor again, then forget the letter.  The
        caller checked it still has its ``payload``.  A message type the journal takes goes
        through it, as such messages came in the first place: applied exactly once."""
        try:
            await self.router.tell_durable(letter.kind, letter.id, letter.payload)
        except TypeError:  # not a journaled type: it came by a plain tell
            await self.router.tell(letter.kind, letter.id, letter.payload, timeout=5.0)
        await self.router.dead_letters.remove(letter.letter_id)

    async def discard_dead_letter(self, letter_id: int) -> bool:
        return await self.router.dead_letters.remove(letter_id)

    async def aclose(self) -> None:
        """Clean shutdown (idempotent): stop accepting, drain, stop the actors, snapshot them
        through the still-running database writer, then stop everything."""
        self.ready = False
        if self._scope.cancel_called:
            await self._stopped.wait()
            return
        router = self.router
        router.stop_accepting()
        with trio.CancelScope(shield=True):
            left = await router.drain(trio.current_time() + self.settings.actors.drain_deadline)
            if left:
                log.warning("shutdown deadline passed with %d messages queued", left)
            with contextlib.suppress(RuntimeError, KeyError):  # not running (yet, or any more)
                await self.root.terminate_child("actors")
            try:
                await router.save_all()
            except StorageUnavailable as exc:
                log.error("final snapshots not saved (%s); the journal will replay", exc)
        self._scope.cancel()
        await self._stopped.wait()
        with trio.CancelScope(shield=True):
            await self.cloud_api.aclose()
            await self.modules.aclose()
            await self.db.aclose()
        log.info("engine stopped")
