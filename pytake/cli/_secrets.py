"""``pytake secrets``: which keys the stored secrets are sealed with, and re-sealing them.

``pytake secrets status`` counts, for every column of sealed secrets, the values under each
key id (marked current, older or not configured); it needs no key and shows no secret.
``pytake secrets rotate`` re-encrypts every stored secret under the current key (the first of
``PYTAKE_SECRET_KEYS``), in batches, with a progress line per batch on stderr and the counts
per column on stdout, and records a ``secrets.rotate`` audit row; ``--dry-run`` only counts.
It may run while PyTake serves. Exit status 1 when a value could not be re-sealed (its key
is not configured, or it cannot be decrypted): the others are done, and the message says
which keys are missing. docs/privacy.md, "Keys", gives the whole procedure.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from pytake.cli._common import (
    CommandError,
    add_actions,
    add_database_options,
    command_settings,
    run_on_database,
)
from pytake.errors import ConfigError

if TYPE_CHECKING:
    from pytake.cli._common import Subcommands
    from pytake.keys import KeyRing
    from pytake.modules import SealedCount
    from pytake.store import Database


def register(subcommands: Subcommands) -> None:
    actions = add_actions(
        subcommands, "secrets", help="re-encrypt stored secrets under the current key; counts",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    status = actions.add_parser(
        "status", help="count the stored secrets under each key id",
        description="For every kind of stored secret, count the values sealed under each key "
        "id, marked current, older (configured) or not configured. No key is needed, and no "
        "secret is shown.",
    )
    rotate = actions.add_parser(
        "rotate", help="re-encrypt every stored secret under the current key",
        description="Re-encrypt every stored secret (module configuration secrets, business "
        "number access tokens, TOTP keys, outbound webhook secrets) under the current key, "
        "the first of PYTAKE_SECRET_KEYS; the older keys read what they sealed. Safe to run "
        "again and while PyTake serves. Exit status 1 if some value could not be re-encrypted.",
    )
    rotate.add_argument("--dry-run", action="store_true",
                        help="count what would be re-encrypted, change nothing")
    rotate.add_argument("--batch-size", type=int, default=500, metavar="N",
                        help="rows per transaction (default 500)")
    for action in (status, rotate):
        add_database_options(action)
    status.set_defaults(handler=run_status)
    rotate.set_defaults(handler=run_rotate)


def _ring(args: argparse.Namespace, *, required: bool) -> tuple[str, KeyRing | None]:
    from pytake.keys import KeyRing

    settings = command_settings(args)
    ring = KeyRing.from_settings(settings)
    if ring is None and required:
        raise ConfigError("PYTAKE_SECRET_KEYS (or PYTAKE_SECRET_KEY) is not set: there is no "
                          "key to re-encrypt the stored secrets with")
    return settings.database_url, ring


def _describe(key_id: str | None, ring: KeyRing | None) -> str:
    if key_id is None:
        return "not a sealed value"
    return ring.describe(key_id) if ring is not None else f"{key_id} (not configured)"


def run_status(args: argparse.Namespace) -> int:
    from pytake.modules import count_key_ids

    url, ring = _ring(args, required=False)
    counts = run_on_database(url, count_key_ids, write=False)
    if ring is None:
        print("keys: none configured (PYTAKE_SECRET_KEYS is not set)")
    else:
        print(f"keys: {', '.join(ring.describe(key_id) for key_id in ring.ids)}")
    for column, found in counts:
        if not found:
            print(f"{column.name}: none stored")
            continue
        # The current key first, then the others by how many values they hold.
        order = sorted(found, key=lambda k: (ring is None or k != ring.current.id,
                                             k is None, -found[k], k or ""))
        parts = [f"{found[k]} under {_describe(k, ring)}" if k is not None
                 else f"{found[k]} {_describe(k, ring)}" for k in order]
        print(f"{column.name}: {sum(found.values())} ({'; '.join(parts)})")
    return 0


def _progress(dry_run: bool) -> Callable[[SealedCount], None]:
    verb = "to re-encrypt" if dry_run else "re-encrypted"

    def say(count: SealedCount) -> None:
        print(f"pytake: {count.column.name}: {count.read} read, {count.rotated} {verb}, "
              f"{count.current} already current", file=sys.stderr, flush=True)

    return say


def _summary(count: SealedCount, dry_run: bool) -> str:
    if count.read == 0:
        return f"{count.column.name}: none stored"
    verb = "would be re-encrypted" if dry_run else "re-encrypted"
    parts = [f"{count.rotated} {verb}", f"{count.current} already current"]
    parts += [f"{n} under key {key_id} (not configured)"
              for key_id, n in sorted(count.missing.items())]
    if count.unreadable:
        parts.append(f"{count.unreadable} unreadable")
    if count.changed:
        parts.append(f"{count.changed} changed meanwhile")
    return f"{count.column.name}: {', '.join(parts)}"


def run_rotate(args: argparse.Namespace) -> int:
    from pytake.modules import SecretBox, rotate_secrets
    from pytake.store import Actor

    if args.batch_size < 1:
        raise CommandError("--batch-size must be at least 1")
    url, ring = _ring(args, required=True)
    assert ring is not None
    box = SecretBox(ring)
    older = ", ".join(ring.ids[1:]) or "none"
    print(f"pytake: {'counting' if args.dry_run else 're-encrypting'} stored secrets for key "
          f"{ring.current.id} (older keys: {older})", file=sys.stderr, flush=True)

    def rotate(db: Database) -> Awaitable[list[SealedCount]]:
        return rotate_secrets(db, box, dry_run=args.dry_run, batch_size=args.batch_size,
                              progress=_progress(args.dry_run), actor=Actor(role="cli"))

    counts = run_on_database(url, rotate, write=not args.dry_run)
    for count in counts:
        print(_summary(count, args.dry_run))
    rotated = sum(c.rotated for c in counts)
    current = sum(c.current for c in counts)
    print(f"total: {rotated} {'would be re-encrypted' if args.dry_run else 're-encrypted'}, "
          f"{current} already current")
    problems = [c for c in counts if not c.complete]
    if problems:
        raise _failure(problems)
    return 0


def _failure(problems: list[SealedCount]) -> CommandError:
    """What was left, and what to do about it (the rows on stderr first)."""
    for count in problems:
        for problem in count.problems:
            print(f"pytake: {count.column.name} {problem}", file=sys.stderr)
    missing = sorted({key_id for c in problems for key_id in c.missing})
    advice = []
    if missing:
        advice.append(f"add the key{'s' if len(missing) > 1 else ''} with id "
                      f"{', '.join(missing)} to PYTAKE_SECRET_KEYS (after the current one) "
                      "and run it again, or store those secrets again")
    if any(c.unreadable for c in problems):
        advice.append("store the unreadable secrets again")
    if any(c.changed for c in problems):
        advice.append("run it again for the values changed meanwhile")
    left = sum(c.read - c.rotated - c.current for c in problems)
    return CommandError(f"{left} stored secret{'s' if left != 1 else ''} could not be "
                        f"re-encrypted: {'; '.join(advice)}")
