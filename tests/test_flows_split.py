"""Traffic split: a candidate version takes its share of the conversations that start a flow,
stably per conversation, until a version is published for all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from pytake.flowrun import (
    FlowLibrary,
    in_share,
    publish,
    set_candidate,
    store_draft,
)
from pytake.store import Database, FlowNode, FlowVersion
from pytake.store import Flow as FlowRecord

from .flow_support import ensure_teams

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "flows"


def test_shares_are_stable_and_close_to_the_fraction() -> None:
    keys = [f"420:{n}" for n in range(20_000)]
    chosen = [k for k in keys if in_share(k, 0.2)]
    assert 0.18 < len(chosen) / len(keys) < 0.22
    assert all(in_share(k, 0.2) for k in chosen)  # the same answer every time
    assert set(chosen) <= {k for k in keys if in_share(k, 0.5)}  # a bigger share keeps them
    assert not any(in_share(k, 0.0) for k in keys[:1000])
    assert all(in_share(k, 1.0) for k in keys[:1000])


async def test_a_candidate_version_takes_its_share_until_one_is_published(
    sqlite_url: str,
) -> None:
    document = json.loads((EXAMPLES / "triage.json").read_text())
    db = Database(sqlite_url)
    try:
        await db.run(ensure_teams)  # the teams the example hands off to
        assert await db.run(publish, document) == 1

        def candidate(session: Any) -> int:
            version = store_draft(session, {**document, "description": "v2"})
            set_candidate(session, "triage", version, 0.3)
            return version

        assert await db.run(candidate) == 2
        library = FlowLibrary(db)
        versions = [await library.start_version("triage", f"pn:{n}") for n in range(400)]
        share = versions.count(2) / len(versions)
        assert 0.2 < share < 0.4 and set(versions) == {None, 2}
        stored = await library.load("triage", 2)
        assert stored is not None and stored.flow.version == 2
        published = await library.load("triage")
        assert published is not None and published.flow.version == 1
        # Publishing a version ends the split: everyone starts the new published version.
        assert await db.run(publish, document) == 3
        assert {await library.start_version("triage", f"pn:{n}") for n in range(100)} == {None}
    finally:
        await db.aclose()


async def test_each_stored_version_has_its_nodes_in_flow_nodes(sqlite_url: str) -> None:
    document = json.loads((EXAMPLES / "triage.json").read_text())
    db = Database(sqlite_url)
    try:
        await db.run(ensure_teams)
        first = await db.run(publish, document)
        changed = {**document, "nodes": [
            {**n, "text": "Oi!"} if n["id"] == "welcome" else n for n in document["nodes"]
        ]}
        second = await db.run(store_draft, changed)

        def nodes(session: Any, version: int) -> dict[str, tuple[str, dict[str, Any]]]:
            rows = session.execute(
                sa.select(FlowNode.node_key, FlowNode.type, FlowNode.config)
                .join(FlowVersion, FlowVersion.id == FlowNode.flow_version_id)
                .join(FlowRecord, FlowRecord.id == FlowVersion.flow_id)
                .where(FlowRecord.name == "triage", FlowVersion.version == version)
            )
            return {key: (type_, config) for key, type_, config in rows}

        stored = await db.run(nodes, first)
        assert set(stored) == {n["id"] for n in document["nodes"]}
        welcome = next(n for n in document["nodes"] if n["id"] == "welcome")
        assert stored["welcome"] == ("send_text", {"text": welcome["text"]})
        assert (await db.run(nodes, second))["welcome"][1]["text"] == "Oi!"
    finally:
        await db.aclose()
