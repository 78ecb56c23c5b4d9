"""``python -m pytake`` is the ``pytake`` command."""

import sys

from pytake.cli import main

sys.exit(main())
