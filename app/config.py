"""Settings, read once from ``BATON_*`` environment variables (the README's table lists them all)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def default_database_url() -> str:
    path = Path(os.environ.get("BATON_INSTANCE_DIR", Path.cwd() / "instance"))
    path.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path / 'baton.sqlite3'}"


@dataclass
class Settings:
    database_url: str = field(default_factory=default_database_url)
    host: str = "127.0.0.1"
    port: int = 8080
    admin_user: str | None = None
    admin_password: str | None = None
    #: "thread" runs the job executor inside the server process; "off" leaves jobs to `baton worker`.
    job_executor: str = "thread"
    #: Seconds between job-executor polls when idle.
    job_poll_interval: float = 1.0
    #: Seconds a worker holds a job lock before another worker may take the job.
    job_lock_seconds: float = 300.0
    #: Largest accepted request body (deployments), bytes.
    max_upload_bytes: int = 10 * 1024 * 1024
    #: Per script-task time and memory budget.
    script_time_limit: float = 2.0
    script_memory_limit: int = 64 * 1024 * 1024
    #: Require HTTP Basic credentials on every API request.
    auth_required: bool = True
    keyfactor_status: str = "name"
    processes_dir: str | None = None

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        env = os.environ
        values: dict[str, object] = {}
        if env.get("BATON_DATABASE_URL"):
            values["database_url"] = env["BATON_DATABASE_URL"]
        if env.get("BATON_HOST"):
            values["host"] = env["BATON_HOST"]
        if env.get("BATON_PORT"):
            values["port"] = int(env["BATON_PORT"])
        values["admin_user"] = env.get("BATON_ADMIN_USER") or None
        values["admin_password"] = env.get("BATON_ADMIN_PASSWORD") or None
        if env.get("BATON_JOB_EXECUTOR"):
            values["job_executor"] = env["BATON_JOB_EXECUTOR"]
        if env.get("BATON_JOB_POLL_INTERVAL"):
            values["job_poll_interval"] = float(env["BATON_JOB_POLL_INTERVAL"])
        if env.get("BATON_JOB_LOCK_SECONDS"):
            values["job_lock_seconds"] = float(env["BATON_JOB_LOCK_SECONDS"])
        if env.get("BATON_MAX_UPLOAD_BYTES"):
            values["max_upload_bytes"] = int(env["BATON_MAX_UPLOAD_BYTES"])
        if env.get("BATON_SCRIPT_TIME_LIMIT"):
            values["script_time_limit"] = float(env["BATON_SCRIPT_TIME_LIMIT"])
        if env.get("BATON_SCRIPT_MEMORY_LIMIT"):
            values["script_memory_limit"] = int(env["BATON_SCRIPT_MEMORY_LIMIT"])
        values["auth_required"] = _bool(env.get("BATON_AUTH_REQUIRED"), True)
        if env.get("BATON_KEYFACTOR_STATUS"):
            values["keyfactor_status"] = env["BATON_KEYFACTOR_STATUS"]
        if env.get("BATON_PROCESSES_DIR"):
            values["processes_dir"] = env["BATON_PROCESSES_DIR"]
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
