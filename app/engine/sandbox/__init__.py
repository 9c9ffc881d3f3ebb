"""Sandbox for the Python carried by uploaded (untrusted) BPMN.

SpiffWorkflow's default environment runs conditions with eval() and scripts with exec(). Here
expressions (gateway conditions, timer and multi-instance expressions) run under simpleeval, and
script task bodies are compiled by RestrictedPython with a stricter policy and run with guarded
builtins, a small module allow-list, and the task data as their variables.

Budgets, per evaluate()/execute() call:

* Time: the compiled script calls ``_tick_()`` at every loop iteration, function and lambda entry
  and comprehension step (every unbounded path goes through one), and the expression evaluator at
  every node; every 100 ticks the deadline is checked. This works in any thread (signals only in
  the main one; scripts run in gunicorn and job-executor threads). A ``sys.settrace`` hook was
  measured: 5-6x slower on loops, since any tracer makes every Python call expensive.
* Memory: one C-level operation cannot be interrupted once started, so every operation whose
  result size is set by an argument (``s * n``, ``a ** b``, ``a << b``, ``s + t``, ``'%9999d' %``,
  ``s.ljust(n)``, ``range(n)``, ``str()`` of a list repeating one big item ...) is size-checked
  *before* it runs. The tick check also compares the process RSS with its value at the start of
  the run, which catches gradual growth (appending in a loop). tracemalloc was rejected: it slows
  every allocation of every thread while on, and sees memory only once it has been taken.
  Residual: operations on data already within budget may briefly take a small multiple of it
  (``list(text)``); the RSS check is process-wide, so concurrent runs share headroom; a regular
  expression can still backtrack for long inside C (only nested repeats are refused).
"""

from __future__ import annotations

import ast
import decimal
import logging
import sys
from collections import ChainMap
from collections.abc import Callable
from functools import lru_cache
from itertools import chain
from typing import Any

import simpleeval
from RestrictedPython.PrintCollector import PrintCollector
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from app.engine.sandbox.budget import (
    _DATA_SCALARS,
    _DECIMAL_CONTEXT,
    _MISSING,
    _T,
    SandboxCompileError,
    SandboxError,
    SandboxMemoryError,
    SandboxTimeout,
    SandboxViolation,
    _local,
    _Run,
    _tick,
    _too_big,
    _violation,
    _walk,
)
from app.engine.sandbox.guards import (
    _BLOCKED_ATTRS,
    _add,
    _fmt,
    _getattr,
    _lshift,
    _mod,
    _mul,
    _pow,
    _round,
    _SafeStr,
    _sum,
)
from app.engine.sandbox.modules import _BUILTINS
from app.engine.sandbox.policy import _compile_script

__all__ = ["SandboxCompileError", "SandboxEnvironment", "SandboxError", "SandboxMemoryError", "SandboxTimeout",
           "SandboxViolation", "make_script_engine"]

_log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
# Expressions


class _ExpressionEvaluator(simpleeval.EvalWithCompoundTypes):
    def _eval(self, node: ast.AST) -> Any:
        _tick()
        return super()._eval(node)

    def _eval_attribute(self, node: ast.Attribute) -> Any:
        if node.attr.startswith("_") or node.attr in _BLOCKED_ATTRS:
            raise _violation(f"access to attribute {node.attr!r} is not allowed")
        value = self._eval(node.value)
        if isinstance(value, dict) and node.attr in value:
            return value[node.attr]  # order.total on task data, as JUEL writes it
        return _getattr(value, node.attr)

    def _eval_formattedvalue(self, node: ast.FormattedValue) -> Any:
        spec = self._eval(node.format_spec) if node.format_spec else ""
        return _fmt(self._eval(node.value), node.conversion, spec)


@lru_cache(maxsize=1024)
def _parse_expression(expression: str) -> ast.AST:
    return simpleeval.SimpleEval.parse(expression)


_EXPR_OPERATORS = {**simpleeval.DEFAULT_OPERATORS, ast.Add: _add, ast.Mult: _mul, ast.Pow: _pow,
                   ast.LShift: _lshift, ast.Mod: _mod}
_EXPR_FUNCTIONS = {"len": len, "str": _SafeStr, "int": int, "float": float, "bool": bool, "abs": abs,
                   "min": min, "max": max, "round": _round, "sum": _sum, "any": any, "all": all,
                   "sorted": sorted, "list": list, "dict": dict, "tuple": tuple, "set": set}


# ---------------------------------------------------------------------------------------------
# The environment


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow script environment: simpleeval for expressions, RestrictedPython for scripts,
    both under a time and a memory budget."""

    def __init__(self, time_limit: float = 2.0, memory_limit: int = 64 * 1024 * 1024) -> None:
        super().__init__()
        self.time_limit = time_limit
        self.memory_limit = memory_limit

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: dict[str, Any] | None = None) -> Any:
        evaluator = getattr(_local, "evaluator", None)
        if evaluator is None:  # building one takes ~20 us; one per thread is safe (not re-entrant)
            evaluator = _local.evaluator = _ExpressionEvaluator(
                operators=_EXPR_OPERATORS, functions=dict(_EXPR_FUNCTIONS), names={})
        try:
            parsed = _parse_expression(expression)
            evaluator.names = ChainMap(context, external_context or {})
            return self._limited(lambda: evaluator.eval(expression, parsed))
        except simpleeval.NameNotDefined as err:  # a NameError gets SpiffWorkflow's "did you mean"
            raise NameError(f"name '{err.name}' is not defined", name=err.name) from None
        except simpleeval.FunctionNotDefined as err:
            raise NameError(f"name '{err.func_name}' is not defined", name=err.func_name) from None
        except (simpleeval.IterableTooLong, simpleeval.NumberTooHigh) as err:
            raise SandboxMemoryError(str(err)) from None
        except simpleeval.InvalidExpression as err:
            raise SandboxViolation(str(err)) from None
        finally:
            evaluator.names = {}  # do not keep the task data alive

    def execute(self, script: str, context: dict[str, Any],
                external_context: dict[str, Any] | None = None) -> bool:
        external = external_context or {}
        namespace = {k: v for k, v in chain(external.items(), context.items()) if not k.startswith("_")}
        namespace["__builtins__"] = _BUILTINS

        def run() -> dict[str, Any]:
            before = _walk(list(context.values()), sys.maxsize)
            exec(_compile_script(script), namespace)
            return _collect(namespace, context, external, before + self.memory_limit)

        try:
            kept = self._limited(run)
        except Exception as err:
            if err.args and not isinstance(err.args[0], str):
                err.args = (repr(err.args[0]), *err.args[1:])  # SpiffWorkflow concatenates args[0]
            raise
        for name in [n for n in context if not n.startswith("_") and n not in kept]:
            del context[name]  # deleted by the script, or rebound to something that is not data
        context.update(kept)
        printed = namespace.get("_print")
        if isinstance(printed, PrintCollector):
            _log.debug("script output: %s", printed()[:2000])
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> Any:
        raise SandboxViolation("service calls are not available from scripts")

    def _limited(self, fn: Callable[[], _T]) -> _T:
        outer = getattr(_local, "run", None)
        _local.run = _Run(self.time_limit, self.memory_limit)
        try:
            with decimal.localcontext(_DECIMAL_CONTEXT):  # thread-local: bounds Decimal exponents
                return fn()
        finally:
            _local.run = outer


def _collect(namespace: dict[str, Any], context: dict[str, Any], external: dict[str, Any],
             budget: float) -> dict[str, Any]:
    """The script's top-level names to keep as task data: plain data it bound, and task data it
    left bound (perhaps changed in place). Functions, modules, regex matches ... stay script-local.
    The total is bounded so a script cannot hand the serializer gigabytes of repeated references."""
    kept: dict[str, Any] = {}
    used = 0
    for name, value in namespace.items():
        unchanged = context.get(name, _MISSING) is value
        if name.startswith("_") or (not unchanged and external.get(name, _MISSING) is value):
            continue
        if type(value) in _DATA_SCALARS:
            size = len(value) if type(value) is str else 40
        else:  # task data left bound may be anything the engine put there; new values must be data
            size = _walk(value, budget - used, data_only=not unchanged)
            if size < 0:
                continue
        used += size
        if used > budget:
            raise _too_big("the script's variables exceed the memory budget")
        kept[name] = value
    return kept


def make_script_engine(time_limit: float = 2.0, memory_limit: int = 64 * 1024 * 1024) -> PythonScriptEngine:
    """A SpiffWorkflow script engine that runs expressions and scripts in the sandbox."""
    environment = SandboxEnvironment(time_limit=time_limit, memory_limit=memory_limit)
    return PythonScriptEngine(environment=environment)
