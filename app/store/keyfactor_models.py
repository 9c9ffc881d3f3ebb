"""Tables of the Keyfactor Workflow dialect (contract keyfactor-workflow.md).

A Keyfactor workflow instance IS a process instance (``process_instance``); the row here only
adds what Keyfactor shows and Camunda does not: the integer ``ReferenceId``, the title, the
initiator, the data the instance was started with, the definition snapshot and the two final
statuses that no BPMN state expresses (stopped = Rejected, CanceledForRestart). The Keyfactor
``Status`` itself is derived from the process instance (see app/services/keyfactor_status.py).

No foreign keys point at the core tables: core rows are removed by their own services
(deployment cascades, history cleanup), and Keyfactor rows must outlive them as snapshots.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.store.models import ID, NAME, Base, UTCDateTime

GUID = String(36)


class WorkflowDefinition(Base):
    """A Keyfactor workflow definition; its versions hold names and steps."""

    __tablename__ = "workflow_definition"

    id: Mapped[str] = mapped_column(GUID, primary_key=True)
    workflow_type: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(NAME)
    key_display_name: Mapped[str | None] = mapped_column(NAME)
    #: The Global Enrollment/Revocation definitions: they cannot be deleted.
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Deleted definitions stay as rows so the instances that ran on them keep their step names.
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Number of the published version (None = never published).
    published_version: Mapped[int | None] = mapped_column(Integer)
    created: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        # "Only one workflow definition for each combination of Workflow Type and Key" - among live ones.
        Index("ux_workflow_definition_type_key", "workflow_type", "key", unique=True,
              sqlite_where=text("NOT deleted"), postgresql_where=text("NOT deleted")),
    )


class WorkflowDefinitionVersion(Base):
    __tablename__ = "workflow_definition_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    definition_id: Mapped[str] = mapped_column(ForeignKey("workflow_definition.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    display_name: Mapped[str] = mapped_column(NAME)
    description: Mapped[str | None] = mapped_column(Text)
    #: The validated steps in Keyfactor spelling (DefinitionStepResponse members, plus signal ids).
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    #: True once this version was published (it stays true when a later version is published).
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The BPMN the steps compiled to, and the process definition it was deployed as.
    compiled_bpmn: Mapped[bytes | None] = mapped_column(LargeBinary)
    process_definition_id: Mapped[str | None] = mapped_column(String(512), index=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime())
    updated: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("definition_id", "version", name="uq_workflow_definition_version"),)


class ApprovalRole(Base):
    """Which security roles may answer a deployed approval task: makes AssignedToMe a plain SQL join."""

    __tablename__ = "keyfactor_approval_role"

    process_definition_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    activity_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    role_id: Mapped[int] = mapped_column(Integer, primary_key=True)


class KeyfactorInstance(Base):
    __tablename__ = "keyfactor_instance"

    #: Keyfactor's integer ``ReferenceId``: an autoincrement key, increasing on every backend.
    reference_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    process_instance_id: Mapped[str] = mapped_column(ID, unique=True)
    definition_id: Mapped[str] = mapped_column(GUID, index=True)
    version_id: Mapped[int] = mapped_column(Integer)
    # The definition snapshot shown as ``Definition`` (kept when the definition is deleted).
    definition_version: Mapped[int] = mapped_column(Integer)
    definition_display_name: Mapped[str] = mapped_column(NAME)
    workflow_type: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str | None] = mapped_column(Text)
    #: Plain Baton user id (Keyfactor's ``DOMAIN\\user`` without the domain).
    initiator: Mapped[str | None] = mapped_column(NAME, index=True)
    initial_data: Mapped[dict[str, Any]] = mapped_column(JSON)
    last_modified: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    #: "Rejected" (stopped) or "CanceledForRestart"; None = derive from the process instance.
    final_status: Mapped[str | None] = mapped_column(String(32))
    #: Message of a stop, a restart or a denial (failures show their incident message instead).
    status_message: Mapped[str | None] = mapped_column(Text)
    #: The instance a restart created in place of this one.
    restarted_as: Mapped[str | None] = mapped_column(ID)

    __table_args__ = {"sqlite_autoincrement": True}


class SignalRecord(Base):
    """Every signal sent to an instance, accepted or refused (and why)."""

    __tablename__ = "signal_record"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    process_instance_id: Mapped[str] = mapped_column(ID)
    activity_id: Mapped[str | None] = mapped_column(String(255))
    step_unique_name: Mapped[str | None] = mapped_column(NAME)
    signal_name: Mapped[str | None] = mapped_column(NAME)
    #: The SignalKey as sent.
    signal_key: Mapped[str | None] = mapped_column(String(512))
    user_id: Mapped[str | None] = mapped_column(NAME)
    created: Mapped[datetime] = mapped_column(UTCDateTime())
    approved: Mapped[bool | None] = mapped_column(Boolean)
    comment: Mapped[str | None] = mapped_column(Text)
    data: Mapped[Any] = mapped_column(JSON, nullable=True)
    accepted: Mapped[bool] = mapped_column(Boolean)
    refusal_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_signal_record_instance_step", "process_instance_id", "activity_id", "user_id"),)
