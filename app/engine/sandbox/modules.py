"""Modules a sandboxed script may import: namespaces holding only what a script may use."""

from __future__ import annotations

import datetime as _dt
import decimal
import json
import math
import operator
import random
import re
from collections.abc import Callable
from functools import lru_cache
from re import _constants as _sre
from re import _parser as _sre_parser
from types import SimpleNamespace
from typing import Any

from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
)

from app.engine.sandbox.budget import _check, _current, _int_bits, _reserve, _tick, _too_big, _violation, _walk
from app.engine.sandbox.guards import (
    _add,
    _augitem,
    _blocked,
    _builtin_pow,
    _fmt,
    _getattr,
    _hasattr,
    _inplacevar,
    _int_arg,
    _iter,
    _lshift,
    _mod,
    _mul,
    _pattern_sub,
    _pow,
    _PrintCollector,
    _range,
    _repr,
    _round,
    _SafeDecimal,
    _SafeStr,
    _sum,
)

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
