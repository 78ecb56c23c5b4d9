"""Property: under random crashes, passivation and restarts, every accepted message is applied
exactly once, in order, and poison messages are applied never."""

from __future__ import annotations

import os

import attrs
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytake.actors import ActorKind, InMemoryDeadLetters, InMemorySnapshotStore, open_router
from pytake.supervisor import Backoff, Intensity

from .actor_fixtures import ATTEMPTS, Apply, CrashOn, Get, LogActor

POISON = 3


@attrs.frozen
class Step:
    actor: int
    crashes: int  # 0: a plain Apply; >= POISON: poison
    pause: float  # mock seconds to wait after sending (may passivate idle actors)


steps = st.lists(
    st.builds(
        Step,
        actor=st.integers(0, 3),
        crashes=st.integers(0, POISON),
        pause=st.sampled_from([0.0, 0.0, 0.0, 0.5, 3.0, 12.0]),
    ),
    min_size=1,
    max_size=60,
)


@settings(
    max_examples=int(os.environ.get("PROPERTY_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(steps, st.integers(1, 4))
def test_every_accepted_message_applied_exactly_once(plan: list[Step], escalate_after: int) -> None:
    ATTEMPTS.clear()
    store = InMemorySnapshotStore()
    letters = InMemoryDeadLetters()
    spec = ActorKind(
        LogActor,
        idle_timeout=10.0,
        poison_threshold=POISON,
        backoff=Backoff(initial=0.2, maximum=2.0, multiplier=2.0, jitter=0.5),
        intensity=Intensity(max_restarts=escalate_after, period=5.0),
    )
    expected: dict[str, list[int]] = {}

    async def main() -> dict[str, list[int]]:
        # The kind escalates often; its parent tolerates it (the root's give-up is tested in
        # test_supervisor), so the property is about restarts at both levels losing nothing.
        tolerant = Intensity(max_restarts=1000, period=1.0)
        async with open_router(
            [spec], store=store, dead_letters=letters, intensity=tolerant
        ) as router:
            for n, step in enumerate(plan):
                ident = f"c{step.actor}"
                ref = router.ref("log", ident)
                if step.crashes == 0:
                    await ref.tell(Apply(n))
                else:
                    await ref.tell(CrashOn(n, step.crashes))
                if step.crashes < POISON:
                    expected.setdefault(ident, []).append(n)
                if step.pause:
                    await trio.sleep(step.pause)
            return {
                ident: await router.ref("log", ident).ask(Get(), timeout=600)
                for ident in {f"c{s.actor}" for s in plan}
            }

    got = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    for ident, applied in got.items():
        assert applied == expected.get(ident, []), ident
    poison = sum(1 for s in plan if s.crashes >= POISON)
    assert len(trio.run(letters.list, 10_000)) == poison
    # and the durable copy written at shutdown agrees with the live state
    for snap in store.items():
        assert snap.data["applied"] == got[snap.id]
