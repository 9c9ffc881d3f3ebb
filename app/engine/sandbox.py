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
import datetime as _dt
import decimal
import json
import logging
import math
import operator
import os
import random
import re
import sys
import threading
import time
from collections import ChainMap
from collections.abc import Callable
from functools import lru_cache, partial
from itertools import chain
from re import _constants as _sre
from re import _parser as _sre_parser
from types import CodeType, SimpleNamespace
from typing import Any, TypeVar

import simpleeval
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
)
from RestrictedPython.PrintCollector import PrintCollector
from RestrictedPython.transformer import INSPECT_ATTRIBUTES, IOPERATOR_TO_STR, RestrictingNodeTransformer
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

_log = logging.getLogger(__name__)
_T = TypeVar("_T")


class SandboxError(Exception):
    """A script or expression broke a sandbox rule or exceeded a budget."""


class SandboxViolation(SandboxError):
    """A blocked operation: private attributes, imports outside the allow-list, open(), ..."""


class SandboxTimeout(SandboxError):
    """The run exceeded its time budget."""


class SandboxMemoryError(SandboxError):
    """The run, or one operation in it, would exceed the memory budget."""


class SandboxCompileError(SandboxViolation, SyntaxError):
    """Syntax the policy forbids. Also a SyntaxError, so SpiffWorkflow reports its line number."""


_CHECK_EVERY = 100  # ticks between deadline/RSS checks (a check costs ~5 us)
_BIG_ALLOC = 256 * 1024  # guarded operations at least this big check RSS before they run
_MAX_INT_BITS = 1_000_000  # big-int arithmetic is uninterruptible C: keep one operation ~50 ms
_MAX_WIDTH_DIGITS = 5  # format widths and precisions up to 99999
_MAX_DEPTH = 200  # data nesting (repr() and json.dumps() recurse in C)
_DEC_EXP = 10_000  # Decimal exponent bound: Decimal <-> int conversion is quadratic in digits
_DECIMAL_CONTEXT = decimal.Context(prec=28, Emax=_DEC_EXP, Emin=-_DEC_EXP, traps=[
    decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow])
_MISSING = object()

# ---------------------------------------------------------------------------------------------
# Budget of one run

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_statm: int | None = None


def _open_statm() -> None:
    global _statm
    if _statm is not None:  # after a fork the inherited descriptor reads the parent's numbers
        os.close(_statm)
    try:
        _statm = os.open("/proc/self/statm", os.O_RDONLY)
    except OSError:  # not Linux: only the per-operation checks apply
        _statm = None


_open_statm()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_open_statm)


def _rss() -> int:
    return int(os.pread(_statm, 64, 0).split()[1]) * _PAGE if _statm is not None else 0


def _mb(nbytes: float) -> str:
    return f"{nbytes / 2**20:.0f} MB"


class _Run:
    """Budget of one evaluate()/execute() call."""

    __slots__ = ("time_limit", "memory_limit", "deadline", "base_rss", "ticks", "error")

    def __init__(self, time_limit: float, memory_limit: int) -> None:
        self.time_limit, self.memory_limit = time_limit, memory_limit
        self.deadline = time.monotonic() + time_limit
        self.base_rss = _rss()
        self.ticks = _CHECK_EVERY
        self.error: SandboxError | None = None

    def check(self, extra: int = 0) -> None:
        self.ticks = _CHECK_EVERY
        if self.error is not None:
            # Once over budget the run stays failed: a script that catches the error gets it again
            # at its next tick, or at once in its except/finally block (they start with _check_()).
            self.ticks = 0
            raise type(self.error)(*self.error.args)
        if time.monotonic() > self.deadline:
            raise self.fail(SandboxTimeout(f"time budget of {self.time_limit:g} s exceeded"))
        if _rss() - self.base_rss + extra > self.memory_limit:
            raise self.fail(SandboxMemoryError(f"memory budget of {_mb(self.memory_limit)} exceeded"))

    def fail(self, error: SandboxError) -> SandboxError:
        self.error, self.ticks = error, 0
        return error


_local = threading.local()


def _current() -> _Run:
    run = getattr(_local, "run", None)
    if run is None:  # script code outlives its run only as a generator finalized later
        raise SandboxViolation("sandboxed code ran outside its run")
    return run


def _violation(message: str) -> SandboxError:
    return _current().fail(SandboxViolation(message))


def _too_big(message: str) -> SandboxError:
    return _current().fail(SandboxMemoryError(message))


def _check() -> None:
    _current().check()


def _tick() -> None:
    run = _current()
    run.ticks -= 1
    if run.ticks <= 0:
        run.check()


def _reserve(nbytes: float, what: str) -> None:
    """Refuse an operation that would allocate about nbytes more than the budget has left."""
    if nbytes >= _BIG_ALLOC:
        run = _current()
        if nbytes > run.memory_limit:
            raise _too_big(f"{what} would need about {_mb(nbytes)}; the budget is {_mb(run.memory_limit)}")
        run.check(int(nbytes))


def _int_bits(bits: float, what: str) -> None:
    if bits > _MAX_INT_BITS:
        raise _too_big(f"{what} would have about {bits:.3g} bits (limit {_MAX_INT_BITS})")


_DATA_SCALARS = frozenset({str, int, float, bool, type(None), decimal.Decimal,
                           _dt.datetime, _dt.date, _dt.time, _dt.timedelta})
_KEY_TYPES = frozenset({str, int, float, bool, type(None)})


def _walk(obj: Any, budget: float, data_only: bool = False, indent: int = 0) -> int:
    """Upper estimate of the text size of obj as repr() or JSON. A shared object counts every time
    it appears, as repr and json.dumps expand it: ``[big] * 1000`` counts 1000 bigs. Returns -1 if
    data_only and obj is not plain data; raises SandboxMemoryError past budget."""
    run, total, steps = _current(), 0, 0
    stack: list[Any] = [iter((obj,))]
    while stack:
        for item in stack[-1]:
            kind, steps = type(item), steps + 1
            if kind is str:
                total += len(item) + 4
            elif kind is list or kind is tuple or (not data_only and kind in (set, frozenset)):
                stack.append(iter(item))
                break
            elif kind is dict:
                if data_only and not all(type(key) in _KEY_TYPES for key in item):
                    return -1
                stack.append(chain.from_iterable(item.items()))
                break
            elif kind is int:
                total += 4 + item.bit_length() // 3
            elif data_only and kind not in _DATA_SCALARS:
                return -1
            else:
                total += 40
            total += indent * len(stack)
            if total > budget:
                break
        else:
            stack.pop()
        if total > budget or len(stack) > _MAX_DEPTH:
            raise _too_big(f"text or data larger than {_mb(budget)} or nested over {_MAX_DEPTH} levels")
        if steps > 4096:
            steps = 0
            run.check()
        total += 2
    return total


def _check_text(obj: Any) -> None:
    if type(obj) not in _DATA_SCALARS:
        _walk(obj, _current().memory_limit)


# ---------------------------------------------------------------------------------------------
# Size-checked operators: the policy rewrites ``a * b`` into ``_mul_(a, b)`` and so on

_SEQ_UNIT = {str: 1, bytes: 1, list: 8, tuple: 8}  # bytes per item (4 for non-ASCII str)


def _nbytes(seq: Any, count: int = 1) -> int:
    unit = 4 if type(seq) is str and not seq.isascii() else _SEQ_UNIT[type(seq)]
    return len(seq) * count * unit


def _check_add(a: Any, b: Any) -> None:
    if type(a) in _SEQ_UNIT and type(b) is type(a) and len(a) + len(b) > _BIG_ALLOC // 8:
        _reserve(_nbytes(a) + _nbytes(b), "concatenation")


def _check_mul(a: Any, b: Any) -> None:
    if isinstance(a, int) and isinstance(b, int):
        _int_bits(a.bit_length() + b.bit_length(), "integer product")
    elif type(a) in _SEQ_UNIT and isinstance(b, int):
        _reserve(_nbytes(a, b), "repeating a sequence")
    elif type(b) in _SEQ_UNIT and isinstance(a, int):
        _reserve(_nbytes(b, a), "repeating a sequence")


def _check_pow(a: Any, b: Any) -> None:
    if isinstance(a, int) and isinstance(b, int) and b > 1 and abs(a) > 1:
        _int_bits(b if b > _MAX_INT_BITS else b * math.log2(abs(a)), "integer power")


def _check_lshift(a: Any, b: Any) -> None:
    if isinstance(a, int) and isinstance(b, int) and a and b > 0:
        _int_bits(a.bit_length() + b, "left shift")


_PRINTF = re.compile(r"%%|%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_mod(a: Any, b: Any) -> None:
    if isinstance(a, str | bytes):
        for match in _PRINTF.finditer(a if isinstance(a, str) else a.decode("latin-1")):
            for number in match.groups():
                if number == "*":
                    raise _violation("'*' widths in %-formatting are not allowed")
                if number and len(number) > _MAX_WIDTH_DIGITS:
                    raise _too_big(f"%-format width or precision {number[:12]} is too large")
        _check_text(b)


def _add(a: Any, b: Any) -> Any:
    if type(a) in _SEQ_UNIT:
        _check_add(a, b)
    return a + b


def _mul(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:  # fast path for the common case
        if a.bit_length() + b.bit_length() > _MAX_INT_BITS:
            _check_mul(a, b)
    elif type(a) is not float and type(b) is not float:
        _check_mul(a, b)
    return a * b


def _checked(check: Callable[[Any, Any], None], op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def apply(a: Any, b: Any) -> Any:
        check(a, b)
        return op(a, b)
    return apply


_pow, _lshift, _mod = (_checked(_check_pow, operator.pow), _checked(_check_lshift, operator.lshift),
                       _checked(_check_mod, operator.mod))


_INPLACE = {  # op -> (check, in-place operator: ``items += [x]`` must still mutate items)
    "+=": (_check_add, operator.iadd), "-=": (None, operator.isub), "*=": (_check_mul, operator.imul),
    "/=": (None, operator.itruediv), "//=": (None, operator.ifloordiv), "%=": (_check_mod, operator.imod),
    "**=": (_check_pow, operator.ipow), "<<=": (_check_lshift, operator.ilshift),
    ">>=": (None, operator.irshift), "&=": (None, operator.iand), "|=": (None, operator.ior),
    "^=": (None, operator.ixor), "@=": (None, operator.imatmul),
}


def _inplacevar(op: str, target: Any, value: Any) -> Any:
    check, apply = _INPLACE[op]
    if type(target) is list and op == "+=" and type(value) not in (list, tuple):
        value = list(value)  # l += iter(l) would grow l while reading it, in C, forever
    if check is not None and type(target) is not float:
        check(target, value)
    return apply(target, value)


def _augitem(obj: Any, key: Any, op: str, value: Any) -> None:
    """``obj[key] op= value``: RestrictedPython alone rejects it, and scripts do ``totals[k] += x``."""
    full_write_guard(obj)[key] = _inplacevar(op, obj[key], value)


_BIG_NUMBER = re.compile(rf"\d{{{_MAX_WIDTH_DIGITS + 1},}}")


def _fmt(value: Any, conversion: int = -1, spec: str = "") -> str:
    """An f-string field (and format()), conversion and spec checked before formatting."""
    if conversion == 115:  # !s
        value = _SafeStr(value)
    elif conversion == 114:  # !r
        value = _repr(value)
    elif conversion == 97:  # !a
        _check_text(value)
        value = ascii(value)
    if isinstance(spec, str) and _BIG_NUMBER.search(spec):
        raise _too_big(f"format width or precision in {spec[:20]!r} is too large")
    _check_text(value)
    return format(value, spec)


# ---------------------------------------------------------------------------------------------
# Guarded builtins and attribute access

class _GuardedType(type):
    """Metaclass for stand-ins of builtin types whose construction is checked: calling one builds
    a plain builtin instance, and isinstance()/issubclass() behave as with the builtin."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return cls._make(*args, **kwargs)

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, cls.__base__)

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, cls.__base__)


def _make_str(obj: Any = "", *args: Any, **kwargs: Any) -> str:
    if not args and not kwargs:
        _check_text(obj)
    return str(obj, *args, **kwargs)


def _make_decimal(value: Any = "0", context: Any = None) -> decimal.Decimal:
    if context is not None:
        raise _violation("Decimal contexts are not available in scripts")
    if (isinstance(value, int) and value.bit_length() > 4 * _DEC_EXP) or (
            isinstance(value, str) and len(value) > 2 * _DEC_EXP):
        raise _too_big("Decimal value too large")
    result = decimal.Decimal(value)
    if result.is_finite() and abs(result.adjusted()) > _DEC_EXP:
        raise _too_big(f"Decimal exponent beyond +/-{_DEC_EXP}")
    return result


_SafeStr = _GuardedType("str", (str,), {"_make": staticmethod(_make_str), "__slots__": ()})
_SafeDecimal = _GuardedType("Decimal", (decimal.Decimal,),
                            {"_make": staticmethod(_make_decimal), "__slots__": ()})


def _repr(obj: Any) -> str:
    _check_text(obj)
    return repr(obj)


def _range(*args: int) -> range:
    result = range(*args)
    try:
        length = len(result)
    except OverflowError:
        length = sys.maxsize
    if length > _current().memory_limit // 32:  # list(range(n)) takes ~36 bytes per item
        raise _too_big(f"range() of {length} items is too large")
    return result


def _builtin_pow(base: Any, exp: Any, mod: Any = None) -> Any:
    if mod is None:
        return _pow(base, exp)
    if isinstance(exp, int) and isinstance(mod, int) and exp.bit_length() * mod.bit_length() > 2**26:
        raise _current().fail(SandboxTimeout("pow() with operands this large would exceed the time budget"))
    return pow(base, exp, mod)


def _round(number: Any, ndigits: Any = None) -> Any:
    if isinstance(number, int) and isinstance(ndigits, int) and -ndigits > _MAX_INT_BITS // 3:
        raise _too_big("round() would build 10 ** -ndigits")  # as CPython does for ints
    return round(number) if ndigits is None else round(number, ndigits)


def _sum(iterable: Any, /, start: Any = 0) -> Any:
    if isinstance(start, int | float | complex | decimal.Decimal):
        return sum(iterable, start)  # adding numbers cannot grow memory
    total = start
    for item in iterable:  # sum(lists, []) concatenates: check every step
        _tick()
        total = _add(total, item)
    return total


def _iter(obj: Any, *sentinel: Any) -> Any:
    if sentinel:  # list(iter(int, 1)) would loop in C forever
        raise _violation("iter(callable, sentinel) is not allowed")
    return iter(obj)


def _sized(name: str, estimate: Callable[..., float]) -> Callable[..., Any]:
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        _reserve(estimate(self, *args, **kwargs), f"{type(self).__name__}.{name}()")
        return getattr(self, name)(*args, **kwargs)
    return call


def _int_arg(value: Any) -> int:
    return value if isinstance(value, int) else 0


def _width(*texts: Any) -> int:
    """Bytes per character of a str built from texts."""
    return 4 if any(type(t) is str and not t.isascii() for t in texts) else 1


def _est_replace(s: Any, old: Any, new: Any, count: Any = -1) -> float:
    if not isinstance(old, str | bytes) or not isinstance(new, str | bytes):
        return 0
    hits = s.count(old) if old else len(s) + 1
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return (len(s) + hits * len(new)) * _width(s, new)


def _est_translate(s: Any, table: Any, *_: Any) -> float:
    if isinstance(table, dict):
        return len(s) * 4 * max((len(v) for v in table.values() if isinstance(v, str)), default=1)
    return len(s)


def _est_tabs(s: Any, tabsize: Any = 8) -> float:
    return (len(s) + s.count(b"\t" if isinstance(s, bytes) else "\t") * _int_arg(tabsize)) * _width(s)


def _join(sep: Any, iterable: Any) -> Any:
    items = iterable if type(iterable) in (list, tuple) else list(iterable)
    try:
        total = sum(map(len, items)) + len(sep) * len(items)
    except TypeError:
        total = 0  # join() raises the proper error
    _reserve(total, f"{type(sep).__name__}.join()")
    return sep.join(items)


def _extend(target: list[Any], iterable: Any) -> None:
    target.extend(iterable if type(iterable) in (list, tuple) else list(iterable))  # as with +=


def _check_sub(repl: Any, string: Any, count: Any, hits: int | None = None) -> None:
    if isinstance(repl, str | bytes) and isinstance(string, str | bytes):
        # Empty matches hit len + 1 times; each backreference expands to at most the subject.
        hits = len(string) + 1 if hits is None else hits
        if isinstance(count, int) and count > 0:
            hits = min(hits, count)
        refs = repl.count("\\" if isinstance(repl, str) else b"\\")
        _reserve(len(string) * (1 + refs) + hits * len(repl), "regular expression substitution")


def _pattern_sub(pattern: re.Pattern[Any], repl: Any, string: Any, count: int = 0, *,
                 method: str = "sub") -> Any:
    _check_sub(repl, string, count)
    return getattr(pattern, method)(repl, string, count)


def _match_expand(match: re.Match[Any], template: Any) -> Any:
    _check_sub(template, match.string, 1, hits=1)
    return match.expand(template)


_STRINGS = (str, bytes)
# Methods whose result size is set by an argument rather than by the data they work on.
_METHOD_GUARDS: dict[str, tuple[Any, Callable[..., Any]]] = {
    **{name: (_STRINGS, _sized(name, lambda s, width=0, *fill: _int_arg(width) * _width(s, *fill)))
       for name in ("ljust", "rjust", "center", "zfill")},
    "expandtabs": (_STRINGS, _sized("expandtabs", _est_tabs)),
    "replace": (_STRINGS, _sized("replace", _est_replace)),
    "translate": (_STRINGS, _sized("translate", _est_translate)),
    "join": (_STRINGS, _join),
    "extend": (list, _extend),
    "to_bytes": (int, _sized("to_bytes", lambda n, length=1, *a, **k: _int_arg(length))),
    "sub": (re.Pattern, _pattern_sub),
    "subn": (re.Pattern, partial(_pattern_sub, method="subn")),
    "expand": (re.Match, _match_expand),
}
# str.format walks attributes named in the format string ('{0.__class__}'); mro() yields classes.
_BLOCKED_ATTRS = frozenset({"format", "format_map", "mro", *INSPECT_ATTRIBUTES, *simpleeval.DISALLOW_METHODS})


def _getattr(obj: Any, name: str, *default: Any) -> Any:
    if type(name) is not str:
        raise TypeError("attribute name must be a string")
    if name.startswith("_") or name in _BLOCKED_ATTRS:
        hint = "; use an f-string" if name.startswith("format") else ""
        raise _violation(f"access to attribute {name!r} is not allowed{hint}")
    guard = _METHOD_GUARDS.get(name)
    if guard is not None:
        kinds, method = guard
        if isinstance(obj, kinds):
            return partial(method, obj)
        if isinstance(obj, type) and issubclass(obj, kinds):
            return method  # unbound, as in str.ljust(text, 10)
    return getattr(obj, name, *default)


def _hasattr(obj: Any, name: str) -> bool:
    try:
        _getattr(obj, name)
    except AttributeError:
        return False
    return True


class _PrintCollector(PrintCollector):
    def _call_print(self, *objects: Any, **kwargs: Any) -> None:
        for obj in objects:
            _check_text(obj)
        super()._call_print(*objects, **kwargs)


def _blocked(name: str) -> Callable[..., Any]:
    def blocked(*args: Any, **kwargs: Any) -> Any:
        raise _violation(f"{name}() is not allowed in scripts")
    return blocked


# ---------------------------------------------------------------------------------------------
# Importable modules: namespaces holding only what a script may use

def _int_result(fn: Callable[..., int], bits: Callable[..., float]) -> Callable[..., int]:
    """fn, refused when its integer result would have more than _MAX_INT_BITS bits."""
    def call(n: Any, *args: Any) -> int:
        if isinstance(n, int) and all(isinstance(a, int | None) for a in args):
            _int_bits(bits(n, *args) * math.log2(max(n, 2)), f"{fn.__name__}()")
        return fn(n, *args)
    return call


def _prod(iterable: Any, *, start: Any = 1) -> Any:
    total = start
    for item in iterable:
        _tick()
        total = _mul(total, item)
    return total


def _json_dumps(obj: Any, *, indent: Any = None, sort_keys: bool = False, separators: Any = None,
                ensure_ascii: bool = True, default: Any = None) -> str:
    width = len(indent) if isinstance(indent, str) else (indent or 0)
    if not isinstance(width, int) or width > 16:
        raise _violation("json.dumps() indent must be at most 16")
    _reserve(_walk(obj, _current().memory_limit, indent=width), "json.dumps()")
    return json.dumps(obj, indent=indent, sort_keys=sort_keys, separators=separators,
                      ensure_ascii=ensure_ascii, default=default)


def _json_loads(text: Any) -> Any:
    if isinstance(text, str | bytes):
        _reserve(len(text) * 24, "json.loads()")  # '[],' is 3 characters and a 56-byte list
    return json.loads(text)


_REPEATS = (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT)


def _starts_with_repeat(items: Any) -> bool:
    for op, av in items:
        if op in _REPEATS:
            return av[1] > 1
        if op is _sre.SUBPATTERN:
            return _starts_with_repeat(av[3])
        if op is _sre.BRANCH:
            return any(_starts_with_repeat(branch) for branch in av[1])
        return False
    return False


@lru_cache(maxsize=256)
def _nested_repeat(pattern: Any, flags: int) -> bool:
    """Heuristic against catastrophic backtracking, which re cannot interrupt: an unbounded repeat
    whose body starts with a repeat, as in ``(a+)+`` or ``(\\w+\\s?)*``."""
    pending = [_sre_parser.parse(pattern, flags)]
    while pending:
        for op, av in pending.pop():
            if op in _REPEATS:
                if av[1] == _sre.MAXREPEAT and _starts_with_repeat(av[2]):
                    return True
                pending.append(av[2])
            elif op is _sre.SUBPATTERN:
                pending.append(av[3])
            elif op is _sre.BRANCH:
                pending.extend(av[1])
            elif op in (_sre.ASSERT, _sre.ASSERT_NOT):
                pending.append(av[1])
            elif op is _sre.ATOMIC_GROUP:
                pending.append(av)
    return False


def _re_compile(pattern: Any, flags: int = 0) -> re.Pattern[Any]:
    if isinstance(pattern, re.Pattern):
        return pattern
    if _nested_repeat(pattern, flags):
        raise _violation("nested repeats such as (a+)+ are not allowed in regular expressions")
    return re.compile(pattern, flags)


def _re_call(name: str) -> Callable[..., Any]:
    def call(pattern: Any, string: Any, flags: int = 0) -> Any:
        return getattr(_re_compile(pattern, flags), name)(string)
    return call


_RE = SimpleNamespace(
    compile=_re_compile, escape=re.escape, error=re.error,
    **{name: _re_call(name) for name in ("search", "match", "fullmatch", "findall", "finditer")},
    split=lambda pattern, string, maxsplit=0, flags=0: _re_compile(pattern, flags).split(string, maxsplit),
    sub=lambda pattern, repl, string, count=0, flags=0: _pattern_sub(
        _re_compile(pattern, flags), repl, string, count),
    subn=lambda pattern, repl, string, count=0, flags=0: _pattern_sub(
        _re_compile(pattern, flags), repl, string, count, method="subn"),
    **{flag: getattr(re, flag) for flag in ("I", "IGNORECASE", "M", "MULTILINE", "S", "DOTALL",
                                            "X", "VERBOSE", "A", "ASCII")},
)
_MATH = SimpleNamespace(**{
    **{n: getattr(math, n) for n in dir(math) if not n.startswith("_")}, "prod": _prod,
    "factorial": _int_result(math.factorial, lambda n: n),  # bits ~ n * log2(n) ...
    "comb": _int_result(math.comb, lambda n, k: min(k, n - k)),
    "perm": _int_result(math.perm, lambda n, k=None: n if k is None else min(k, n))})
_JSON = SimpleNamespace(dumps=_json_dumps, loads=_json_loads, JSONDecodeError=json.JSONDecodeError)
_DATETIME = SimpleNamespace(datetime=_dt.datetime, date=_dt.date, time=_dt.time, timedelta=_dt.timedelta,
                            timezone=_dt.timezone, UTC=_dt.UTC, MINYEAR=_dt.MINYEAR, MAXYEAR=_dt.MAXYEAR)
_DECIMAL = SimpleNamespace(Decimal=_SafeDecimal, **{
    n: getattr(decimal, n) for n in dir(decimal)
    if n.startswith("ROUND_") or n in ("DecimalException", "InvalidOperation", "DivisionByZero", "Overflow")})
_RANDOM_NAMES = ("random", "uniform", "randint", "randrange", "choice", "shuffle", "sample",
                 "gauss", "normalvariate", "triangular", "expovariate", "betavariate", "seed")


def _random_module() -> SimpleNamespace:
    rng = random.Random()  # per import: a script cannot seed or read the process-wide generator

    def choices(population: Any, weights: Any = None, *, cum_weights: Any = None, k: int = 1) -> list[Any]:
        _reserve(_int_arg(k) * 8, "choices()")  # its loop is in random.py, which has no ticks
        if _int_arg(k) > _current().memory_limit // 32:
            raise _too_big("choices() k is too large")
        return rng.choices(population, weights, cum_weights=cum_weights, k=k)

    def getrandbits(k: int) -> int:
        _int_bits(k, "getrandbits()")
        return rng.getrandbits(k)

    def randbytes(n: int) -> bytes:
        _reserve(n, "randbytes()")
        return rng.randbytes(n)

    return SimpleNamespace(**{n: getattr(rng, n) for n in _RANDOM_NAMES},
                           choices=choices, getrandbits=getrandbits, randbytes=randbytes)


_MODULES: dict[str, Callable[[], Any]] = {
    "datetime": lambda: _DATETIME, "math": lambda: _MATH, "json": lambda: _JSON, "re": lambda: _RE,
    "decimal": lambda: _DECIMAL, "random": _random_module,
}


def _import(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Any:
    factory = _MODULES.get(name) if level == 0 else None
    if factory is None:
        raise _violation(f"import of {name!r} is not allowed (allowed: {', '.join(sorted(_MODULES))})")
    return factory()


# Not BaseException, SystemExit, KeyboardInterrupt, GeneratorExit: raised by a script they would get
# past SpiffWorkflow's ``except Exception`` and could end a worker thread (or the process).
_BUILTINS: dict[str, Any] = {k: v for k, v in safe_builtins.items() if k != "__build_class__" and (
    not isinstance(v, type) or not issubclass(v, BaseException) or issubclass(v, Exception))}
_BUILTINS.update({name: _blocked(name) for name in (
    "open", "compile", "eval", "exec", "globals", "locals", "vars", "dir", "input", "help", "exit", "quit",
    "type", "object", "super", "memoryview", "bytearray", "bytes", "classmethod", "staticmethod",
    "property", "setattr", "delattr")})
_BUILTINS.update(
    str=_SafeStr, repr=_repr, format=lambda value, spec="": _fmt(value, -1, spec), range=_range,
    pow=_builtin_pow, round=_round, sum=_sum, iter=_iter, getattr=_getattr, hasattr=_hasattr,
    list=list, tuple=tuple, dict=dict, set=set, frozenset=frozenset, sorted=sorted, reversed=reversed,
    enumerate=enumerate, zip=zip, min=min, max=max, any=any, all=all, next=next,
    __import__=_import, _getattr_=_getattr, _getitem_=operator.getitem, _getiter_=iter,
    _write_=full_write_guard, _apply_=lambda f, *a, **k: f(*a, **k), _inplacevar_=_inplacevar,
    _unpack_sequence_=guarded_unpack_sequence, _iter_unpack_sequence_=guarded_iter_unpack_sequence,
    _print_=_PrintCollector, _add_=_add, _mul_=_mul, _pow_=_pow, _lshift_=_lshift, _mod_=_mod,
    _fmt_=_fmt, _augitem_=_augitem, _check_=_check, _tick_=_tick,
)

# ---------------------------------------------------------------------------------------------
# Script compilation


def _call(helper: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=ast.Name(helper, ast.Load()), args=list(args), keywords=[])


_BINOP_HELPERS = {ast.Add: "_add_", ast.Mult: "_mul_", ast.Pow: "_pow_", ast.LShift: "_lshift_",
                  ast.Mod: "_mod_"}


def _tick_stmt() -> ast.stmt:
    return ast.Expr(_call("_tick_"))


class _ScriptPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy plus: size-checked operators and f-strings; no classes; a tick in
    every loop body, function, lambda and comprehension step; and a budget re-check at the start
    of every except and finally block."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.node_contents_visit(node)
        helper = _BINOP_HELPERS.get(type(node.op))
        return node if helper is None else ast.copy_location(_call(helper, node.left, node.right), node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        if not isinstance(node.target, ast.Subscript):
            return super().visit_AugAssign(node)
        target, op = node.target, ast.Constant(IOPERATOR_TO_STR[type(node.op)])
        call = _call("_augitem_", self.visit(target.value), self.visit(target.slice), op,
                     self.visit(node.value))
        return ast.copy_location(ast.Expr(call), node)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        node = self.node_contents_visit(node)
        spec = node.format_spec or ast.Constant("")
        node.value = _call("_fmt_", node.value, ast.Constant(node.conversion), spec)
        node.conversion, node.format_spec = -1, None
        return node

    def visit_While(self, node: ast.While) -> ast.AST:
        node = self.node_contents_visit(node)
        node.body.insert(0, _tick_stmt())
        return node

    def visit_For(self, node: ast.For) -> ast.AST:
        node = super().visit_For(node)
        node.body.insert(0, _tick_stmt())
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node = super().visit_FunctionDef(node)
        node.body.insert(0, _tick_stmt())
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        node = super().visit_Lambda(node)
        node.body = ast.BoolOp(ast.Or(), [_call("_tick_"), node.body])  # _tick_() returns None
        return node

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        node = super().visit_comprehension(node)
        node.ifs.insert(0, ast.UnaryOp(ast.Not(), _call("_tick_")))
        return node

    def visit_Try(self, node: ast.Try) -> ast.AST:
        node = super().visit_Try(node)
        for handler in node.handlers:
            handler.body.insert(0, ast.Expr(_call("_check_")))
        if node.finalbody:
            node.finalbody.insert(0, ast.Expr(_call("_check_")))
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self.error(node, "class definitions are not allowed in scripts")
        return node


_POLICY_ERROR = re.compile(r"Line (\d+): ")


@lru_cache(maxsize=512)
def _compile_script(script: str) -> CodeType:
    tree = ast.parse(script, "<string>", "exec")  # a plain SyntaxError keeps its line number
    errors: list[str] = []
    _ScriptPolicy(errors, [], {}).visit(tree)
    if errors:
        found = _POLICY_ERROR.match(errors[0])
        lineno = int(found.group(1)) if found else 0
        lines = script.splitlines()
        text = lines[lineno - 1] if 0 < lineno <= len(lines) else None
        raise SandboxCompileError("; ".join(errors), ("<string>", lineno, 1, text))
    # Filename '<string>': SpiffWorkflow finds the failing script line by that frame filename.
    return compile(ast.fix_missing_locations(tree), "<string>", "exec")


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
