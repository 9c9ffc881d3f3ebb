"""The script engine for compiled Keyfactor definitions (``ctx.engines["keyfactor"]``).

It recognises the two calls the compiler emits and runs them as trusted Baton code:

* a script that is exactly ``kf_step("<UniqueName>")`` → :func:`.connectors.run_step` with the
  step JSON from ``task.task_spec.documentation`` and the data bucket ``task.data`` (changed in
  place). No sandbox time limit applies: network calls have their own timeouts.
* a condition that is exactly ``kf_should_run("<UniqueName>")`` → ``Enabled`` and every
  ``Conditions[].Value`` of that step (:func:`.tokens.condition_holds`), the step being read from
  the documentation of its activity ``step_activity_id(UniqueName)`` in the same process spec.

Everything else (``kf_approved == True``, scripts and conditions of any other origin) runs
exactly as in the normal sandbox (``app.engine.sandbox``), which ``PythonScript`` steps use too.
A failing step raises :class:`.base.StepError`; ``runtime.run`` turns its text into the
incident message / Keyfactor StatusMessage, e.g. ``RESTRequest 'CallCA' failed: HTTP 503 from …``.
"""

from __future__ import annotations

import ast
import json
from functools import lru_cache
from typing import Any

from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine

from app.engine.keyfactor.base import StepError
from app.engine.keyfactor.compiler import step_activity_id
from app.engine.keyfactor.connectors import run_step
from app.engine.keyfactor.settings import KeyfactorSettings
from app.engine.keyfactor.tokens import condition_holds
from app.engine.sandbox import make_script_engine

__all__ = ["KeyfactorScriptEngine", "make_keyfactor_script_engine", "should_run", "step_of"]


@lru_cache(maxsize=4096)
def _call_argument(source: str, function: str) -> str | None:
    """``"X"`` when ``source`` is exactly ``function("X")`` (one string literal), else None."""
    if function not in source:
        return None
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError:
        return None
    call = tree.body
    if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == function
            and len(call.args) == 1 and not call.keywords and isinstance(call.args[0], ast.Constant)
            and isinstance(call.args[0].value, str)):
        return call.args[0].value
    return None


def step_of(task_spec: Any) -> dict[str, Any] | None:
    """The normalized Keyfactor step a compiled activity carries (None for other task specs)."""
    text = getattr(task_spec, "documentation", None)
    if not text:
        return None
    try:
        step = json.loads(text)
    except ValueError:
        return None
    return step if isinstance(step, dict) and "UniqueName" in step and "ExtensionName" in step else None


def should_run(step: dict[str, Any], bucket: dict[str, Any]) -> bool:
    """Contract 7.1/7.2: an enabled step whose conditions all hold after token substitution."""
    if step.get("Enabled") is False:
        return False
    return all(condition_holds(c.get("Value", ""), bucket) for c in step.get("Conditions") or [])


class KeyfactorScriptEngine(PythonScriptEngine):
    """PythonScriptEngine over Baton's sandbox environment, plus ``kf_step`` / ``kf_should_run``."""

    def __init__(self, settings: KeyfactorSettings | None = None, time_limit: float = 120.0,
                 memory_limit: int = 64 * 2**20) -> None:
        sandboxed = make_script_engine(time_limit=time_limit, memory_limit=memory_limit)
        super().__init__(environment=sandboxed.environment)
        self.settings = settings or KeyfactorSettings.from_env()

    def _step(self, task: Any, unique_name: str, spec: Any) -> dict[str, Any]:
        step = step_of(spec)
        if step is None or step.get("UniqueName") != unique_name:
            raise StepError(f"Step {unique_name!r} failed: its activity carries no step configuration "
                            "(the model was not compiled from this Keyfactor definition)", task)
        return step

    def execute(self, task: Any, script: str, external_context: dict[str, Any] | None = None) -> Any:
        unique_name = _call_argument(script or "", "kf_step")
        if unique_name is None:
            return super().execute(task, script, external_context)
        step = self._step(task, unique_name, task.task_spec)
        run_step(task, step, task.data, settings=self.settings, sandbox=self.environment)
        return True

    def evaluate(self, task: Any, expression: str, external_context: dict[str, Any] | None = None) -> Any:
        unique_name = _call_argument(expression or "", "kf_should_run")
        if unique_name is None:
            return super().evaluate(task, expression, external_context)
        spec = task.workflow.spec.task_specs.get(step_activity_id(unique_name))
        return should_run(self._step(task, unique_name, spec), task.data)


def make_keyfactor_script_engine(settings: KeyfactorSettings | None = None, time_limit: float = 120.0,
                                 memory_limit: int = 64 * 2**20) -> PythonScriptEngine:
    """The engine for definitions deployed with ``engine="keyfactor"``.

    ``settings`` defaults to ``KeyfactorSettings.from_env()`` (read once, here). ``time_limit`` /
    ``memory_limit`` are the sandbox budget of PythonScript steps and of expressions.
    """
    return KeyfactorScriptEngine(settings, time_limit, memory_limit)
