"""What every step connector gets (:class:`StepContext`) and raises (:class:`StepError`)."""

from __future__ import annotations

import datetime as _dt
import decimal
import json
from dataclasses import dataclass
from typing import Any

from app.engine.keyfactor.settings import KeyfactorSettings
from app.engine.keyfactor.tokens import substitute, substitute_deep

__all__ = ["StepContext", "StepError", "json_data"]


class StepError(Exception):
    """A step failed. ``str(error)`` is the instance's StatusMessage, e.g.
    ``RESTRequest 'CallCA' failed: HTTP 503 from https://ca.example/api``.

    ``task`` is the SpiffWorkflow task (set by the engine), which ``runtime.run`` reports.
    """

    def __init__(self, message: str, task: Any = None) -> None:
        super().__init__(message)
        self.task = task


@dataclass
class StepContext:
    """One run of one step: its normalized definition, the live data bucket and the settings."""

    step: dict[str, Any]
    bucket: dict[str, Any]
    settings: KeyfactorSettings
    #: the SpiffWorkflow script environment PythonScript steps run in (app.engine.sandbox)
    sandbox: Any = None
    task: Any = None

    @property
    def label(self) -> str:
        return f"{self.step.get('ExtensionName')} {self.step.get('UniqueName')!r}"

    @property
    def params(self) -> dict[str, Any]:
        return self.step.get("ConfigurationParameters") or {}

    def param(self, name: str, default: Any = None) -> Any:
        """A parameter by its canonical name (stored steps are normalized; tolerate other casing)."""
        params = self.params
        if name in params:
            return params[name] if params[name] is not None else default
        folded = name.casefold()
        return next((v for k, v in params.items() if str(k).casefold() == folded and v is not None), default)

    def text(self, name: str, default: str | None = None) -> str | None:
        """A parameter with tokens substituted from the bucket (for parameters that support it)."""
        value = self.param(name, default)
        return substitute(value, self.bucket) if isinstance(value, str) else value

    def deep(self, name: str, default: Any = None) -> Any:
        return substitute_deep(self.param(name, default), self.bucket)

    def fail(self, text: str) -> StepError:
        return StepError(f"{self.label} failed: {text}", self.task)


def _json_default(value: Any) -> Any:
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    raise TypeError(f"{type(value).__name__} is not JSON data")


def json_data(value: Any) -> Any:
    """``value`` as plain JSON data (dates → ISO text, Decimal → number, tuples → lists, keys → str).

    Raises TypeError/ValueError for anything else: the data bucket must stay JSON-like.
    """
    return json.loads(json.dumps(value, default=_json_default, allow_nan=False))
