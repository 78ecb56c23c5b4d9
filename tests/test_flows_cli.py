"""``pytake flows import|export`` against a real database file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pytake.store import upgrade

from .flow_support import ensure_teams

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "flows"


def _pytake(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTAKE_")}
    return subprocess.run([sys.executable, "-m", "pytake", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def _create_example_teams(url: str) -> None:
    upgrade(url)
    engine = sa.create_engine(url)
    try:
        with Session(engine) as session:
            ensure_teams(session)
            session.commit()
    finally:
        engine.dispose()


def test_publishing_refuses_a_flow_whose_team_does_not_exist(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'flows.db'}"
    refused = _pytake("flows", "import", str(EXAMPLES / "boleto.json"), "--publish",
                      "--database-url", url)
    assert refused.returncode != 0
    assert "nodes[" in refused.stderr and "team 'financeiro' does not exist" in refused.stderr
    assert "nothing was stored" in refused.stderr
    exported = _pytake("flows", "export", "boleto", "--database-url", url)
    assert exported.returncode != 0
    # As a draft it is stored: the team may be created before it is published.
    drafted = _pytake("flows", "import", str(EXAMPLES / "boleto.json"), "--database-url", url)
    assert drafted.returncode == 0, drafted.stderr


def test_import_publishes_and_export_gives_the_flow_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'flows.db'}"
    _create_example_teams(url)
    imported = _pytake("flows", "import", str(EXAMPLES / "triage.json"),
                       str(EXAMPLES / "boleto.json"), "--publish", "--database-url", url)
    assert imported.returncode == 0, imported.stderr
    assert "triage.json: version 1 published" in imported.stdout
    again = _pytake("flows", "import", str(EXAMPLES / "triage.json"), "--database-url", url)
    assert "version 2 stored as a draft" in again.stdout
    exported = _pytake("flows", "export", "triage", "--database-url", url)
    assert exported.returncode == 0, exported.stderr
    document = json.loads(exported.stdout)
    original = json.loads((EXAMPLES / "triage.json").read_text())
    assert document["id"] == "triage" and document["version"] == 1  # the published one
    assert [n["id"] for n in document["nodes"]] == [n["id"] for n in original["nodes"]]
    missing = _pytake("flows", "export", "nope", "--database-url", url)
    assert missing.returncode != 0 and "flow 'nope' has no published version" in missing.stderr


def test_import_refuses_a_broken_flow_and_stores_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'flows.db'}"
    broken = json.loads((EXAMPLES / "triage.json").read_text())
    broken["edges"].append({"from": "welcome", "to": "nowhere"})
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    result = _pytake("flows", "import", str(EXAMPLES / "boleto.json"), str(path),
                     "--publish", "--database-url", url)
    assert result.returncode != 0
    assert "nowhere" in result.stderr and "nothing was stored" in result.stderr
    exported = _pytake("flows", "export", "boleto", "--database-url", url)
    assert exported.returncode != 0  # the valid file was not stored either


def test_simulate_plays_messages_and_prints_the_transcript(tmp_path: Path) -> None:
    stubs = tmp_path / "stubs.json"
    stubs.write_text(json.dumps({"boleto.second_copy": {
        "outcome": "ok", "outputs": {"digitable_line": "2379..."},
        "messages": [{"type": "text", "text": "Linha: 2379..."}]}}))
    result = _pytake("flows", "simulate", str(EXAMPLES / "triage.json"), "--say", "oi",
                     "--say", "1", "--say", "Segunda via", "--say", "529.982.247-25",
                     "--stubs", str(stubs), "--json")
    assert result.returncode == 0, result.stderr
    transcript = json.loads(result.stdout)
    assert transcript["result"]["status"] == "ended" and transcript["result"]["resolved"]
    texts = json.dumps(transcript["turns"], ensure_ascii=False)
    assert "Linha: 2379..." in texts and "boleto" in texts  # the subflow ran, with the stub
    broken = _pytake("flows", "simulate", str(tmp_path / "missing.json"), "--say", "oi")
    assert broken.returncode != 0 and "cannot read" in broken.stderr
