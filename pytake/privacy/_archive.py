"""The export archive: one zip with ``customer.json`` (everything the database holds about
the customer) and ``media/`` (the files of their media messages)."""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["write_archive"]

_README = """\
Everything PyTake holds about one customer, exported on request (LGPD, art. 18).

customer.json  the customer, their conversations (messages, events, the steps flows took
               and what they collected), the agents' events about them, the raw webhook
               bodies that carried their messages, requests sent to them without a
               message (read receipts), outbound webhook deliveries about them, and the
               conversation's live state.
media/         the files of their media messages, named <media id><extension>.
"""


def write_archive(record: dict[str, Any], files: Iterable[Path],
                  directory: str | None = None) -> tuple[Path, int]:
    """Write the archive to a new private temporary file (in ``directory``, default the
    system's); return its path and how many media files went in.  The caller deletes it."""
    handle, name = tempfile.mkstemp(prefix="pytake-export-", suffix=".zip", dir=directory)
    os.close(handle)  # mkstemp made it readable by its owner only
    path = Path(name)
    count = 0
    try:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("README.txt", _README)
            archive.writestr("customer.json", json.dumps(record, ensure_ascii=False, indent=2,
                                                          default=str))
            for file in files:
                archive.write(file, f"media/{file.name}")
                count += 1
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, count
