"""Alembic migration environment of ``pytake.store`` (see ``pytake.store._migrations``)."""
