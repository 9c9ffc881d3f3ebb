"""Budgets of one sandboxed run: the errors, the deadline and memory checks, data size walks."""

from __future__ import annotations

import datetime as _dt
import decimal
import os
import threading
import time
from itertools import chain
from typing import Any, TypeVar

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
