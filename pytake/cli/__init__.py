"""The ``pytake`` command.

Each subcommand is one module here with a ``register(subcommands)`` function that adds its
parser and sets ``handler``, a function ``(args) -> exit status``. To add a command (``db``,
``users``, ``flows``, ``whatsapp-sim`` ...), write its module and list it in ``_COMMANDS``.

Exit status: 0 on success, 1 when a command fails, 2 for usage or configuration errors
(``pytake: error: <message>`` on stderr), 130 when interrupted before it could shut down.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pytake import __version__
from pytake.cli import (
    _audit,
    _customers,
    _db,
    _demo,
    _flows,
    _modules,
    _secrets,
    _serve,
    _users,
    _whatsapp_sim,
)
from pytake.cli._common import (
    CommandError,
    Handler,
    begin_cli_audit,
    report,
    running_command,
)
from pytake.cli._permissions import CLI_PERMISSIONS
from pytake.errors import ConfigError, PyTakeError

__all__ = ["CLI_PERMISSIONS", "actions", "build_parser", "main"]

_COMMANDS = (_serve, _db, _users, _flows, _modules, _whatsapp_sim, _demo, _audit, _secrets,
             _customers)

# The list of commands is generated from each command's `help`, so it cannot go stale here.
_DESCRIPTION = """\
PyTake: an open-source WhatsApp customer-service engine.

Run 'pytake COMMAND --help' for the options of a command.
"""

_EPILOG = """\
configuration:
  Settings come from defaults, then a TOML file (--config FILE or PYTAKE_CONFIG), then the
  PORT variable, then PYTAKE_* variables (a section with a double underscore:
  PYTAKE_ACTORS__IDLE_TIMEOUT), then command-line options. See docs/configuration.md.
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``pytake`` with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="pytake",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"pytake {__version__}")
    subcommands = parser.add_subparsers(
        title="commands", metavar="COMMAND", dest="command", required=True
    )
    for command in _COMMANDS:
        command.register(subcommands)
    return parser


def actions(parser: argparse.ArgumentParser | None = None,
            prefix: tuple[str, ...] = ()) -> list[str]:
    """Every runnable ``"command action"`` of ``pytake`` (the leaves of its parsers)."""
    parser = parser or build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return [leaf for name, sub in action.choices.items()
                    for leaf in actions(sub, (*prefix, name))]
    return [" ".join(prefix)]


def _leaf(exc: BaseException) -> BaseException:
    """The one exception inside (nested) exception groups, or ``exc`` itself.

    trio wraps errors escaping a nursery in groups; the user wants the error, not the wrapping.
    """
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def _subcommand(args: argparse.Namespace) -> list[str]:
    """The action after the command (``users create``: ``create``), when it has one."""
    return [str(v) for k, v in vars(args).items() if k.endswith("action") and isinstance(v, str)]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``pytake`` with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    running_command.set(" ".join(str(v) for v in (args.command, *_subcommand(args)) if v))
    begin_cli_audit()
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        leaf = _leaf(exc)
        if isinstance(leaf, ConfigError):
            report(leaf)
            return 2
        if isinstance(leaf, CommandError | PyTakeError):
            report(leaf)
            return 1
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
