"""SQLAlchemy models: one table per concept of DESIGN.md's data model.

Runtime and history share rows: a process instance keeps one row for its whole life,
an activity instance likewise. Ids are time-ordered UUIDs (see app/store/ids.py), so
ordering by id is creation order and keyset paging by id is stable.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite would hand back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


ID = String(64)
NAME = String(255)


class Base(DeclarativeBase):
    pass


class Deployment(Base):
    __tablename__ = "deployment"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str | None] = mapped_column(NAME)
    source: Mapped[str | None] = mapped_column(NAME)
    tenant_id: Mapped[str | None] = mapped_column(NAME)
    deployment_time: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)

    resources: Mapped[list[Resource]] = relationship(
        back_populates="deployment", cascade="all, delete-orphan", order_by="Resource.id"
    )

    __table_args__ = (Index("ix_deployment_name", "name"),)


class Resource(Base):
    __tablename__ = "resource"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployment.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(1024))
    data: Mapped[bytes] = mapped_column(LargeBinary)

    deployment: Mapped[Deployment] = relationship(back_populates="resources")


class ProcessDefinition(Base):
    __tablename__ = "process_definition"

    id: Mapped[str] = mapped_column(String(512), primary_key=True)
    key: Mapped[str] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(NAME)
    category: Mapped[str | None] = mapped_column(String(1024))
    description: Mapped[str | None] = mapped_column(Text)
    version_tag: Mapped[str | None] = mapped_column(NAME)
    history_ttl: Mapped[int | None] = mapped_column(Integer)
    startable: Mapped[bool] = mapped_column(Boolean, default=True)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployment.id", ondelete="CASCADE"), index=True)
    resource_name: Mapped[str] = mapped_column(String(1024))
    tenant_id: Mapped[str | None] = mapped_column(NAME)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    has_none_start: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Which script engine runs it: None = the BPMN sandbox; "keyfactor" = compiled Keyfactor workflows.
    engine: Mapped[str | None] = mapped_column(String(32))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_procdef_key_version", "key", "version"),)


class ProcessInstance(Base):
    __tablename__ = "process_instance"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    definition_id: Mapped[str] = mapped_column(String(512), index=True)
    definition_key: Mapped[str] = mapped_column(String(255), index=True)
    business_key: Mapped[str | None] = mapped_column(NAME, index=True)
    tenant_id: Mapped[str | None] = mapped_column(NAME)
    #: ACTIVE, SUSPENDED, COMPLETED, EXTERNALLY_TERMINATED, INTERNALLY_TERMINATED
    state: Mapped[str] = mapped_column(String(32), index=True)
    start_time: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    end_time: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    start_user_id: Mapped[str | None] = mapped_column(NAME)
    start_activity_id: Mapped[str | None] = mapped_column(NAME)
    delete_reason: Mapped[str | None] = mapped_column(Text)
    restarted_from_id: Mapped[str | None] = mapped_column(ID, index=True)
    super_instance_id: Mapped[str | None] = mapped_column(ID, index=True)
    root_instance_id: Mapped[str | None] = mapped_column(ID)
    has_incident: Mapped[bool] = mapped_column(Boolean, default=False)
    #: SpiffWorkflow state only (no spec); NULL once the instance has ended.
    state_json: Mapped[str | None] = mapped_column(Text)
    #: The variables as they stood right after start: the source of restart's initialVariables.
    initial_variables: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_procinst_def_state", "definition_id", "state"),)


class ActivityInstance(Base):
    __tablename__ = "activity_instance"

    id: Mapped[str] = mapped_column(String(512), primary_key=True)
    process_instance_id: Mapped[str] = mapped_column(ID, index=True)
    definition_id: Mapped[str] = mapped_column(String(512))
    definition_key: Mapped[str] = mapped_column(String(255))
    activity_id: Mapped[str] = mapped_column(String(255), index=True)
    activity_name: Mapped[str | None] = mapped_column(NAME)
    activity_type: Mapped[str] = mapped_column(String(64))
    parent_activity_instance_id: Mapped[str | None] = mapped_column(String(512))
    execution_id: Mapped[str] = mapped_column(ID)
    task_id: Mapped[str | None] = mapped_column(ID)
    assignee: Mapped[str | None] = mapped_column(NAME)
    called_process_instance_id: Mapped[str | None] = mapped_column(ID)
    start_time: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    end_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    canceled: Mapped[bool] = mapped_column(Boolean, default=False)
    complete_scope: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Grafted by a restart/modification instruction: it never ran.
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)
    tenant_id: Mapped[str | None] = mapped_column(NAME)
    #: Creation order (Camunda's "occurrence" sort).
    seq: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_actinst_proc_end", "process_instance_id", "end_time"),)


class Variable(Base):
    """The current (for ended instances: last) value of a process-scope variable."""

    __tablename__ = "variable"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    process_instance_id: Mapped[str] = mapped_column(ID)
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(16))
    #: app.values.to_storage() JSON: the exact value.
    value_json: Mapped[str] = mapped_column(Text)
    # Typed copies for SQL filtering (Camunda keeps the same three).
    text_value: Mapped[str | None] = mapped_column(String(4000))
    long_value: Mapped[int | None] = mapped_column(BigInteger)
    double_value: Mapped[float | None] = mapped_column(Float)
    #: CREATED while it exists, DELETED once removed (history keeps the last value).
    state: Mapped[str] = mapped_column(String(16), default="CREATED")
    create_time: Mapped[datetime] = mapped_column(UTCDateTime())
    definition_id: Mapped[str] = mapped_column(String(512))
    definition_key: Mapped[str] = mapped_column(String(255))
    activity_instance_id: Mapped[str | None] = mapped_column(String(512))
    tenant_id: Mapped[str | None] = mapped_column(NAME)

    __table_args__ = (
        Index("ix_variable_proc_name", "process_instance_id", "name", unique=True),
        Index("ix_variable_name_text", "name", "text_value"),
        Index("ix_variable_name_long", "name", "long_value"),
    )


class Task(Base):
    """A waiting user task. The row is removed when the task completes or is cancelled."""

    __tablename__ = "task"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    process_instance_id: Mapped[str] = mapped_column(ID, index=True)
    definition_id: Mapped[str] = mapped_column(String(512))
    definition_key: Mapped[str] = mapped_column(String(255))
    task_definition_key: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str | None] = mapped_column(NAME)
    description: Mapped[str | None] = mapped_column(Text)
    assignee: Mapped[str | None] = mapped_column(NAME, index=True)
    owner: Mapped[str | None] = mapped_column(NAME)
    created: Mapped[datetime] = mapped_column(UTCDateTime())
    last_updated: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due: Mapped[datetime | None] = mapped_column(UTCDateTime())
    follow_up: Mapped[datetime | None] = mapped_column(UTCDateTime())
    priority: Mapped[int] = mapped_column(Integer, default=50)
    form_key: Mapped[str | None] = mapped_column(String(1024))
    execution_id: Mapped[str] = mapped_column(ID)
    activity_instance_id: Mapped[str] = mapped_column(String(512))
    tenant_id: Mapped[str | None] = mapped_column(NAME)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)

    candidates: Mapped[list[TaskCandidate]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )


class TaskCandidate(Base):
    __tablename__ = "task_candidate"

    task_id: Mapped[str] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), primary_key=True)
    #: "user" or "group"
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    value: Mapped[str] = mapped_column(String(255), primary_key=True)

    __table_args__ = (Index("ix_task_candidate_value", "kind", "value"),)


class EventSubscription(Base):
    """Where an instance waits for a message or signal, so correlation needs no instance loads."""

    __tablename__ = "event_subscription"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    process_instance_id: Mapped[str] = mapped_column(ID, index=True)
    #: "message" or "signal"
    event_type: Mapped[str] = mapped_column(String(16))
    event_name: Mapped[str] = mapped_column(String(255))
    activity_id: Mapped[str] = mapped_column(String(255))
    execution_id: Mapped[str] = mapped_column(ID)
    tenant_id: Mapped[str | None] = mapped_column(NAME)
    created: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_eventsub_type_name", "event_type", "event_name"),)


class Job(Base):
    """Work for the job executor: timers, retries of failed activities, batch restart jobs."""

    __tablename__ = "job"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    #: "timer", "activity" (a failed activity to run again), "restart"
    type: Mapped[str] = mapped_column(String(32))
    job_definition_id: Mapped[str | None] = mapped_column(String(512))
    process_instance_id: Mapped[str | None] = mapped_column(ID, index=True)
    definition_id: Mapped[str | None] = mapped_column(String(512))
    definition_key: Mapped[str | None] = mapped_column(String(255))
    activity_id: Mapped[str | None] = mapped_column(String(255))
    execution_id: Mapped[str | None] = mapped_column(ID)
    batch_id: Mapped[str | None] = mapped_column(ID, index=True)
    due_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retries: Mapped[int] = mapped_column(Integer, default=3)
    exception_message: Mapped[str | None] = mapped_column(Text)
    lock_owner: Mapped[str | None] = mapped_column(String(255))
    lock_expiry: Mapped[datetime | None] = mapped_column(UTCDateTime())
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    payload: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime())
    tenant_id: Mapped[str | None] = mapped_column(NAME)

    __table_args__ = (Index("ix_job_acquire", "retries", "suspended", "due_date"),)


class Incident(Base):
    __tablename__ = "incident"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    #: "failedJob" or "failedExternalTask"
    type: Mapped[str] = mapped_column(String(32))
    process_instance_id: Mapped[str | None] = mapped_column(ID, index=True)
    definition_id: Mapped[str | None] = mapped_column(String(512))
    activity_id: Mapped[str | None] = mapped_column(String(255))
    execution_id: Mapped[str | None] = mapped_column(ID)
    job_id: Mapped[str | None] = mapped_column(ID, index=True)
    message: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime())
    end_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: "open" or "resolved"
    status: Mapped[str] = mapped_column(String(16), default="open")
    tenant_id: Mapped[str | None] = mapped_column(NAME)


class Batch(Base):
    __tablename__ = "batch"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    total_jobs: Mapped[int] = mapped_column(Integer, default=0)
    jobs_created: Mapped[int] = mapped_column(Integer, default=0)
    completed_jobs: Mapped[int] = mapped_column(Integer, default=0)
    failed_jobs: Mapped[int] = mapped_column(Integer, default=0)
    seed_job_definition_id: Mapped[str] = mapped_column(ID)
    monitor_job_definition_id: Mapped[str] = mapped_column(ID)
    batch_job_definition_id: Mapped[str] = mapped_column(ID)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    tenant_id: Mapped[str | None] = mapped_column(NAME)
    create_user_id: Mapped[str | None] = mapped_column(NAME)
    start_time: Mapped[datetime] = mapped_column(UTCDateTime())
    execution_start_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    payload: Mapped[str | None] = mapped_column(Text)


class User(Base):
    __tablename__ = "baton_user"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(512))
    first_name: Mapped[str | None] = mapped_column(NAME)
    last_name: Mapped[str | None] = mapped_column(NAME)
    email: Mapped[str | None] = mapped_column(NAME)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(UTCDateTime())


class Role(Base):
    __tablename__ = "role"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str | None] = mapped_column(Text)


class RoleMember(Base):
    __tablename__ = "role_member"

    role_id: Mapped[int] = mapped_column(ForeignKey("role.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("baton_user.id", ondelete="CASCADE"), primary_key=True)


class RoleClaim(Base):
    """A permission granted to a role, e.g. ``/workflows/instances/read/``."""

    __tablename__ = "role_claim"

    role_id: Mapped[int] = mapped_column(ForeignKey("role.id", ondelete="CASCADE"), primary_key=True)
    claim: Mapped[str] = mapped_column(String(255), primary_key=True)
