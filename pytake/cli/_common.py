"""What every subcommand shares: the ``--config`` option, logging, error reporting."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

from pytake.config import CONFIG_ENV

if TYPE_CHECKING:
    Subcommands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

#: A subcommand's entry point: parsed arguments in, exit status out.
Handler: TypeAlias = Callable[[argparse.Namespace], int]


class CommandError(Exception):
    """A failure the CLI reports in one line (exit status 1), without a traceback."""


def report(exc: BaseException) -> None:
    """Print ``pytake: error: <message>`` on stderr."""
    print(f"pytake: error: {exc}", file=sys.stderr)


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help=f"TOML settings file (default: ${CONFIG_ENV}, else none)",
    )


def configure_logging(level: str) -> None:
    """Log to stderr at ``level`` (a `pytake.config.LOG_LEVELS` name)."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
