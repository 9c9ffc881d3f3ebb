"""Size-checked operators (the script policy rewrites ``a * b`` into ``_mul_(a, b)`` and so on),
guarded builtins and attribute access for sandboxed scripts."""

from __future__ import annotations

import decimal
import math
import operator
import re
import sys
from collections.abc import Callable
from functools import partial
from typing import Any

import simpleeval
from RestrictedPython.Guards import full_write_guard
from RestrictedPython.PrintCollector import PrintCollector
from RestrictedPython.transformer import INSPECT_ATTRIBUTES

from app.engine.sandbox.budget import (
    _BIG_ALLOC,
    _DEC_EXP,
    _MAX_INT_BITS,
    _MAX_WIDTH_DIGITS,
    SandboxTimeout,
    _check_text,
    _current,
    _int_bits,
    _reserve,
    _tick,
    _too_big,
    _violation,
)

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
