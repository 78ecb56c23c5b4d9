"""The example flows (``examples/flows``) as tests publish them: with the teams they hand
off to, since publishing refuses a flow whose team does not exist."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pytake.flowrun import publish
from pytake.store import Team

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "flows"
#: Every team the example flows name.
EXAMPLE_TEAMS = ("atendimento", "financeiro", "suporte", "vendas")
_TEAM_NODES = ("handoff", "team_open")


def example(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    document.pop("$schema", None)
    return document


def ensure_teams(session: Session, names: Iterable[str] = EXAMPLE_TEAMS) -> None:
    """Create the teams of ``names`` that do not exist yet."""
    wanted = set(names)
    existing = set(session.scalars(sa.select(Team.name).where(Team.name.in_(wanted))))
    for name in sorted(wanted - existing):
        session.add(Team(name=name))
    session.flush()


def publish_examples(session: Session, names: Iterable[str] = ("triage", "boleto"),
                     teams: Mapping[str, str] | None = None) -> None:
    """Publish the example flows ``names``; ``teams`` maps a team they name to another (a
    test's own team, by name or id), and the teams left are created when missing."""
    renamed = dict(teams or {})
    for name in names:
        document = example(name)
        for node in document["nodes"]:
            if node.get("type") in _TEAM_NODES:
                node["team"] = renamed.get(node["team"], node["team"])
        ensure_teams(session, {node["team"] for node in document["nodes"]
                               if node.get("type") in _TEAM_NODES
                               and not node["team"].isdigit()})
        publish(session, document)
