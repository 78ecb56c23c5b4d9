"""Shared output for benchmarks: a table for people, one JSON line (and file) for machines."""

from __future__ import annotations

import argparse
import json
import platform
import signal
import sys
import time
from collections.abc import Callable
from typing import Any


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="smaller run (under 60 seconds)")
    parser.add_argument("--json", metavar="PATH", help="also write the results to PATH as JSON")
    return parser.parse_args()


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def report(name: str, results: dict[str, Any], targets: dict[str, str], path: str | None) -> None:
    results = {"benchmark": name, "python": platform.python_version(), **results}
    width = max(len(k) for k in results)
    print(f"\n{name}")
    for key, value in results.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            # A table of rows (e.g. one per load step): one line each.
            print(f"  {key}:")
            for row in value:
                print("    " + ", ".join(f"{k} {_shown(v)}" for k, v in row.items()))
            continue
        target = f"   (target {targets[key]})" if key in targets else ""
        print(f"  {key:<{width}}  {_shown(value)}{target}")
    line = json.dumps(results, sort_keys=True)
    print(line)
    if path:
        with open(path, "w") as fh:
            fh.write(line + "\n")


def _shown(value: Any) -> str:
    return f"{value:,.2f}" if isinstance(value, float) else str(value)


def _sigterm_as_sigint(signum: int, frame: Any) -> None:
    # SIGINT is what trio turns into KeyboardInterrupt (and so into clean-up).
    signal.raise_signal(signal.SIGINT)


def run_main(body: Callable[[], None]) -> None:
    """Run a benchmark's ``body`` so that Ctrl-C or SIGTERM, even when started in the
    background, runs its clean-up and exits 130 with a line saying so."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        # Started in the background by a non-interactive shell: SIGINT arrives ignored, and
        # SIGTERM (turned into SIGINT, which trio turns into KeyboardInterrupt) must still
        # reach the clean-up.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _sigterm_as_sigint)
    interrupted = False
    try:
        body()
    except* KeyboardInterrupt:
        interrupted = True
    if interrupted:
        progress("interrupted (everything the run created has been removed)")
        sys.exit(130)
