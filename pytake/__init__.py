"""PyTake: an open-source WhatsApp customer-service engine on trio.

How the package is layered, bottom up.  A package imports only packages of the layers above
its own in this list, never one of its own layer, and never another package's underscore
modules; ``tests/test_architecture.py`` checks both, so a back edge fails CI.

- ``pytake.errors``, ``pytake.storable``, ``pytake.sockets``: the exception tree, text every
  database can hold, one question about an idle socket
- ``pytake.config``: ``Settings``, read from a TOML file and ``PYTAKE_*`` variables
- ``pytake.keys``: the secret keys (the current one, older ones still accepted) and their ids
- ``pytake.supervisor``: supervisors: restart strategies, intensity, backoff, their metrics
- ``pytake.actors``: actors, refs, mailboxes, timers and the router that activates them
- ``pytake.store``: PostgreSQL/SQLite and Redis persistence, group commit, journal, snapshots
- ``pytake.contracts``, ``pytake.routing``, ``pytake.httpclient``, ``pytake.identity``,
  ``pytake.whatsapp``: what actors say to each other; the pure owner and queue rules;
  outbound HTTP; users and tokens; the Cloud API protocol (pure)
- ``pytake.flows``, ``pytake.messaging``: the flow format; the inbox, outbox and media
  pipelines between the Cloud API and the actors
- ``pytake.modules``: modules (plugins) flows call: registry, configurations, runner
- ``pytake.flowrun``: running flows: the executor, stored versions, module calls, simulation
- ``pytake.agents``, ``pytake.queues``, ``pytake.conversations``: the three actor kinds
- ``pytake.privacy``: customers' rights (LGPD): lookup, export, anonymisation, erasure
- ``pytake.ops``: the operations dashboard's numbers: sampled, aggregated over the last hour
- ``pytake.engine``, ``pytake.standins``: the composition root; local stand-ins of outside services
- ``pytake.web``: the HTTP edge (Quart on Hypercorn's trio worker) and the agent desk
- ``pytake.cli``: the ``pytake`` command

See ``README.md`` for how to run it and where each part lives.
"""

__version__ = "0.1.0"
