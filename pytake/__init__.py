"""PyTake: an open-source WhatsApp customer-service engine on trio.

How the package is layered, bottom up (each layer only imports the ones above it in this list):

- ``pytake.errors``     the exception hierarchy (``PyTakeError`` and friends)
- ``pytake.config``     ``Settings``, read from a TOML file and ``PYTAKE_*`` variables
- ``pytake.actors``     actors, refs, mailboxes and the router that activates them
- ``pytake.supervisor`` supervisors: restart strategies, intensity, backoff, dead letters
- ``pytake.store``      PostgreSQL/SQLite and Redis/in-process persistence
- ``pytake.modules``    modules (plugins) flows call: registry, configurations, runner
- ``pytake.engine``     the composition root that wires the above together
- ``pytake.web``        the HTTP edge (Quart on Hypercorn's trio worker)
- ``pytake.cli``        the ``pytake`` command

See ``README.md`` for how to run it and where each part lives.
"""

__version__ = "0.1.0"
