"""What each Keyfactor step type does when its activity runs (contract 7.4, 14).

:func:`run_step` is called by the Keyfactor script engine for a ``kf_step("<UniqueName>")``
script, as trusted code (not in the sandbox; network calls are bounded by their own timeouts).
It changes the data bucket in place and raises :class:`StepError` (message = StatusMessage) on
failure. Anything a step writes into the bucket is JSON-like data.

* ``NOOPStep`` — nothing.
* ``Email`` — :func:`.network.send_email` (SMTP, HTML body, tokens in Subject/Message/Recipients).
* ``RESTRequest`` / ``OAuthRESTRequest`` — :mod:`.network` (httpx; answer under DataBucketProperty).
* ``PythonScript`` — ``ScriptContent`` in the RestrictedPython sandbox (``app.engine.sandbox``)
  with the bucket's keys and ``ScriptParameters`` (tokens substituted) as variables; every
  top-level name the script binds to data is merged into the bucket (parameters only when the
  script rebinds them; deleting a name does not delete bucket keys). On error nothing is merged.
* ``UpdateMetadata`` — ``bucket["Metadata"][Name] = Value`` (tokens substituted; existing keys
  matched case-insensitively).
* ``EnrollStep`` / ``RevokeStep`` — the CA connector of :mod:`.ca`.
* ``RequireApproval`` is a userTask, never run here.
"""

from __future__ import annotations

import copy
import sys
import traceback
from collections.abc import Callable
from typing import Any

from app.engine.keyfactor.base import StepContext, StepError, json_data
from app.engine.keyfactor.ca import load_ca_connector
from app.engine.keyfactor.compiler import INTERNAL_VARIABLES
from app.engine.keyfactor.network import oauth_rest_request, rest_request, send_email
from app.engine.keyfactor.settings import KeyfactorSettings

__all__ = ["StepContext", "StepError", "run_step"]


def _noop(ctx: StepContext) -> None:
    return None


def _merge(ctx: StepContext, values: dict[str, Any], what: str) -> None:
    for key, value in values.items():
        if not isinstance(key, str) or not key:
            raise ctx.fail(f"{what} produced the key {key!r}; data bucket keys are non-empty strings")
        try:
            ctx.bucket[key] = json_data(value)
        except (TypeError, ValueError) as exc:
            raise ctx.fail(f"{what} produced {key!r}, which is not JSON data ({exc})") from exc


def _script_line(script: str) -> int:
    """Line of the script where the exception being handled was raised (0 if unknown)."""
    line = 0
    for frame in traceback.extract_tb(sys.exc_info()[2]):
        if frame.filename == "<string>":
            line = frame.lineno or 0
    return line


def _python_script(ctx: StepContext) -> None:
    script = ctx.param("ScriptContent") or ""
    parameters = ctx.deep("ScriptParameters") or {}
    if not isinstance(parameters, dict):
        raise ctx.fail("ScriptParameters must be an object")
    # A scratch copy: the bucket stays untouched if the script fails half-way.
    scratch = copy.deepcopy(ctx.bucket)
    scratch.update(parameters)
    before = dict(scratch)
    sandbox = ctx.sandbox
    if sandbox is None:
        from app.engine.sandbox import SandboxEnvironment

        sandbox = SandboxEnvironment(time_limit=120.0)
    try:
        sandbox.execute(script, scratch, {})
    except Exception as exc:  # noqa: BLE001 - any script error fails the step with its text
        line = getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else _script_line(script)
        where = f" (line {line})" if line else ""
        raise ctx.fail(f"{type(exc).__name__}: {exc}{where}") from exc
    changed = {}
    for key, value in scratch.items():
        if key in before and value is before[key] and (key in parameters or ctx.bucket.get(key) == value):
            continue  # untouched parameter or bucket value
        changed[key] = value
    _merge(ctx, changed, "the script")


def _update_metadata(ctx: StepContext) -> None:
    field = ctx.param("Name")
    if not isinstance(field, str) or not field.strip():
        raise ctx.fail("the parameter 'Name' is required")
    value = ctx.text("Value", "")
    key = next((k for k in ctx.bucket if isinstance(k, str) and k.casefold() == "metadata"), "Metadata")
    metadata = ctx.bucket.get(key)
    if metadata is None:
        metadata = ctx.bucket[key] = {}
    if not isinstance(metadata, dict):
        raise ctx.fail(f"the data bucket's {key!r} is not an object")
    existing = next((k for k in metadata if isinstance(k, str) and k.casefold() == field.casefold()), field)
    metadata[existing] = value


def _certificate_authority(action: str) -> Callable[[StepContext], None]:
    def run(ctx: StepContext) -> None:
        try:
            connector = load_ca_connector(ctx.settings.ca_connector)
            data = {k: v for k, v in ctx.bucket.items() if k not in INTERNAL_VARIABLES}
            result = getattr(connector, action)(copy.deepcopy(data), copy.deepcopy(ctx.step))
        except StepError:
            raise
        except Exception as exc:  # noqa: BLE001 - a connector failure fails the instance
            raise ctx.fail(f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc)) from exc
        if result is None:
            return
        if not isinstance(result, dict):
            raise ctx.fail(f"the certificate-authority connector returned {type(result).__name__}, not an object")
        _merge(ctx, result, "the certificate-authority connector")

    return run


def _require_approval(ctx: StepContext) -> None:
    raise ctx.fail("RequireApproval steps wait for signals at a user task; they cannot run as a script")


_HANDLERS: dict[str, Callable[[StepContext], None]] = {
    "NOOPStep": _noop,
    "RequireApproval": _require_approval,
    "Email": send_email,
    "RESTRequest": rest_request,
    "OAuthRESTRequest": oauth_rest_request,
    "PythonScript": _python_script,
    "UpdateMetadata": _update_metadata,
    "EnrollStep": _certificate_authority("enroll"),
    "RevokeStep": _certificate_authority("revoke"),
}


def run_step(task: Any, step: dict[str, Any], bucket: dict[str, Any], *,
             settings: KeyfactorSettings | None = None, sandbox: Any = None) -> None:
    """Run one step against ``bucket`` (the process variables, changed in place).

    ``sandbox``: the SpiffWorkflow script environment for PythonScript (default: a new
    ``SandboxEnvironment`` with a 120 s budget). Raises :class:`StepError` on any failure.
    """
    ctx = StepContext(step=step, bucket=bucket, settings=settings or KeyfactorSettings.from_env(),
                      sandbox=sandbox, task=task)
    handler = _HANDLERS.get(str(step.get("ExtensionName")))
    if handler is None:
        raise StepError(f"{ctx.label} failed: unknown step type", task)
    try:
        handler(ctx)
    except StepError as exc:
        exc.task = task
        raise
    except Exception as exc:  # noqa: BLE001 - a bug or an unexpected library error still names the step
        raise StepError(f"{ctx.label} failed: {type(exc).__name__}: {exc}", task) from exc
