"""``pytake audit verify``: check the audit log's hash chain (docs/privacy.md#the-audit-log).

Walks every row in order and reports a row changed after it was written, rows deleted from
the middle or the end, and rows out of order. Exit status 0 when the chain is intact, 1 when
it is not (each problem on its own line)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from pytake.cli._common import (
    add_actions,
    add_database_options,
    command_settings,
    run_on_database,
)

if TYPE_CHECKING:
    from pytake.cli._common import Subcommands
    from pytake.store import ChainReport, Database


def register(subcommands: Subcommands) -> None:
    actions = add_actions(subcommands, "audit", help="the audit log: verify its hash chain",
                          description=__doc__.split("\n\n")[0] if __doc__ else None)
    verify = actions.add_parser(
        "verify", help="check every row of the audit log against the hash chain",
        description=__doc__)
    add_database_options(verify)
    verify.set_defaults(handler=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    settings = command_settings(args)

    async def verify(db: Database) -> ChainReport:
        from pytake.store import verify_audit_chain

        return await db.run(verify_audit_chain, readonly=True)

    report = run_on_database(settings.database_url, verify, write=False)
    if report.intact:
        span = f" (rows {report.first_seq} to {report.last_seq})" if report.rows else ""
        print(f"audit log intact: {report.rows} rows checked{span}")
        return 0
    print(f"audit log NOT intact: {len(report.problems)} problem(s) in {report.rows} rows")
    for problem in report.problems:
        print(f"  - {problem}")
    return 1
