"""Automated flows: flows, their versions and nodes, and the log of their executions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from pytake.store._base import (
    Base,
    BigID,
    UTCDateTime,
    created_at_column,
    effect_key_index,
    enum_type,
    json_object_column,
    partial_unique_index,
    updated_at_column,
)
from pytake.store._enums import FlowVersionStatus

__all__ = ["Flow", "FlowExecution", "FlowNode", "FlowVersion"]


class Flow(Base):
    """A named automated flow; what runs is one of its versions."""

    __tablename__ = "flows"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    description: Mapped[str | None] = mapped_column(sa.Text())
    created_by_user_id: Mapped[int | None] = mapped_column(
        BigID, sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    #: a version trying out on ``candidate_share`` (0..1) of the conversations that start
    #: this flow, next to the published version (traffic split); ``None``: no candidate
    candidate_version: Mapped[int | None] = mapped_column(sa.Integer())
    candidate_share: Mapped[float] = mapped_column(sa.Float(), default=0.0,
                                                   server_default="0")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class FlowVersion(Base):
    """One version of a flow: its whole graph as the builder saved it.

    Versions are numbered from 1 per flow. A published version is immutable (publish a new
    one instead), and a flow has at most one published version at a time (a partial unique
    index); archived versions stay, because executions refer to them.
    """

    __tablename__ = "flow_versions"
    __table_args__ = (
        sa.UniqueConstraint("flow_id", "version"),
        sa.CheckConstraint("version > 0", name="version_positive"),
        partial_unique_index(
            "uq_flow_versions_published_flow_id", "flow_id", "status = 'published'"
        ),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    flow_id: Mapped[int] = mapped_column(BigID, sa.ForeignKey("flows.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column()
    status: Mapped[FlowVersionStatus] = mapped_column(
        enum_type(FlowVersionStatus, "flow_version_status"),
        default=FlowVersionStatus.DRAFT,
        server_default=FlowVersionStatus.DRAFT.value,
    )
    graph: Mapped[dict[str, Any]] = json_object_column()
    created_by_user_id: Mapped[int | None] = mapped_column(
        BigID, sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at_column()
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class FlowNode(Base):
    """One node of a flow version (send message, menu, ask, condition, ...), by its key in the
    graph; written when the version is saved so nodes can be queried without parsing graphs."""

    __tablename__ = "flow_nodes"
    __table_args__ = (
        sa.UniqueConstraint("flow_version_id", "node_key"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    flow_version_id: Mapped[int] = mapped_column(
        BigID, sa.ForeignKey("flow_versions.id", ondelete="CASCADE")
    )
    node_key: Mapped[str] = mapped_column(sa.String(100))
    type: Mapped[str] = mapped_column(sa.String(50))
    config: Mapped[dict[str, Any]] = json_object_column()


class FlowExecution(Base):
    """One step a flow took in a conversation: the node, what kind of step (entered, answered,
    validated, failed, ended, ...) and the flow variables after it.

    A flow version with executions cannot be deleted (archive it instead): the log would lose
    what ran.
    """

    __tablename__ = "flow_executions"
    __table_args__ = (
        sa.Index("ix_flow_executions_conversation_id_at", "conversation_id", "at"),
        sa.Index("ix_flow_executions_flow_version_id_at", "flow_version_id", "at"),
        effect_key_index("flow_executions", "conversation_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        BigID, sa.ForeignKey("conversations.id", ondelete="CASCADE")
    )
    flow_version_id: Mapped[int] = mapped_column(BigID, sa.ForeignKey("flow_versions.id"))
    node_key: Mapped[str] = mapped_column(sa.String(100))
    step_type: Mapped[str] = mapped_column(sa.String(50))
    variables: Mapped[dict[str, Any]] = json_object_column()
    at: Mapped[datetime] = created_at_column()
    #: the turn and step that ran it; a turn run again records nothing twice (migration 0006)
    effect_key: Mapped[str | None] = mapped_column(sa.String(200))
