"""Pluggable certificate-authority connectors for ``EnrollStep`` / ``RevokeStep`` (contract 14.1).

A connector is any object with two methods::

    enroll(data: dict, step: dict) -> dict | None
    revoke(data: dict, step: dict) -> dict | None

``data`` is a deep copy of the data bucket (without Baton's internal ``kf_*`` routing variables),
``step`` the normalized step. The dict returned (JSON-like data) is merged into the data bucket;
raising fails the instance with the exception text in StatusMessage.

Connectors are installed as Python entry points in the group ``baton.ca_connectors`` (e.g. in a
plug-in's ``pyproject.toml``: ``[project.entry-points."baton.ca_connectors"] myca =
"myca.baton:Connector"``) and chosen with ``BATON_CA_CONNECTOR`` (default ``default``). The entry
point may name a connector object or module (used as is) or a class/factory (called without
arguments once per process). ``default`` is built in unless an entry point takes that name: it
records ``{"Enrollment": {"requestedAt": "<ISO time>", "data": <bucket copy>}}`` (``Revocation``
for revocations) and succeeds.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from importlib.metadata import entry_points
from typing import Any, Protocol

__all__ = ["ENTRY_POINT_GROUP", "CAConnector", "RecordingCAConnector", "load_ca_connector"]

ENTRY_POINT_GROUP = "baton.ca_connectors"


class CAConnector(Protocol):
    def enroll(self, data: dict[str, Any], step: dict[str, Any]) -> dict[str, Any] | None: ...

    def revoke(self, data: dict[str, Any], step: dict[str, Any]) -> dict[str, Any] | None: ...


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RecordingCAConnector:
    """The ``default`` connector: records the request in the data bucket and succeeds."""

    def enroll(self, data: dict[str, Any], step: dict[str, Any]) -> dict[str, Any]:
        return {"Enrollment": {"requestedAt": _now(), "data": data}}

    def revoke(self, data: dict[str, Any], step: dict[str, Any]) -> dict[str, Any]:
        return {"Revocation": {"requestedAt": _now(), "data": data}}


_loaded: dict[str, Any] = {}
_lock = threading.Lock()


def load_ca_connector(name: str) -> CAConnector:
    """The connector named ``name`` (cached). Raises LookupError when no such connector exists."""
    with _lock:
        if name in _loaded:
            return _loaded[name]
        found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
        if found:
            target = found[0].load()
            is_connector = not isinstance(target, type) and hasattr(target, "enroll") and hasattr(target, "revoke")
            connector = target if is_connector else target()
        elif name == "default":
            connector = RecordingCAConnector()
        else:
            installed = sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)} | {"default"})
            raise LookupError(f"no certificate-authority connector named {name!r} is installed (entry point "
                              f"group {ENTRY_POINT_GROUP!r}; available: {', '.join(installed)})")
        _loaded[name] = connector
        return connector
