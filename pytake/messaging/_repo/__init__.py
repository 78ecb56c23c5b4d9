"""The messaging pipelines' statements, one module per pipeline: ``inbox``, ``outbox`` and
``numbers``.

Each function runs in the caller's transaction and decides nothing: what to claim, retry or
refuse stays in the pipeline that calls it, which also keeps the transactions, the batching
and the trio code.  Only the statements live here, so that the pipelines read as their rules.
"""
