"""Tokenizer and recursive-descent parser for the JUEL subset Baton translates (internal).

Use :func:`app.engine.juel.translate_expression`; this module only turns the body of one
``${...}`` into Python text. Output is built from a tiny fixed set of constructs (names,
literals, ``x['key']`` subscripts, operators, conditional expressions), never by text
substitution, so JUEL input cannot smuggle other Python through.
"""

from __future__ import annotations

import ast
import keyword
import math
import re
import unicodedata
from dataclasses import dataclass

__all__ = ["JuelError", "check_name", "parse_juel"]


class JuelError(ValueError):
    """A JUEL expression (or timer value) that Baton cannot translate."""


#: Names that Camunda resolves to engine objects, not process variables.
_CONTEXT_OBJECTS = frozenset({"execution", "task", "connector", "processEngine", "processEngineServices"})


# --------------------------------------------------------------------------------------------
# Tokenizer


@dataclass(frozen=True)
class _Tok:
    kind: str  # 'num', 'str', 'name', 'op', 'end'
    value: object
    pos: int


_KEYWORD_OPS = {
    "and": "&&", "or": "||", "not": "!", "eq": "==", "ne": "!=", "lt": "<", "gt": ">",
    "le": "<=", "ge": ">=", "div": "/", "mod": "%", "empty": "empty",
}
_UNSUPPORTED_KEYWORDS = {"instanceof": "the 'instanceof' operator"}
_LITERAL_KEYWORDS = {"true": True, "false": False, "null": None}
_OPERATORS = ("&&", "||", "==", "!=", "<=", ">=", "<", ">", "!", "+", "-", "*", "/", "%",
              "(", ")", "[", "]", ".", "?", ":", ",")
_NUMBER = re.compile(r"([0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)([eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[^\W\d]\w*")


def _tokenize(src: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(src)
    while i < n:
        ch = src[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "'\"":
            i, value = _read_string(src, i)
            toks.append(_Tok("str", value, i))
            continue
        m = _NUMBER.match(src, i)
        if m:
            value = _number(m.group(0))
            toks.append(_Tok("num", value, i))
            i = m.end()
            continue
        m = _NAME.match(src, i)
        if m:
            word = m.group(0)
            if word in _KEYWORD_OPS:
                toks.append(_Tok("op", _KEYWORD_OPS[word], i))
            elif word in _LITERAL_KEYWORDS:
                toks.append(_Tok("lit", _LITERAL_KEYWORDS[word], i))
            elif word in _UNSUPPORTED_KEYWORDS:
                raise JuelError(f"{_UNSUPPORTED_KEYWORDS[word]} is not supported")
            else:
                toks.append(_Tok("name", word, i))
            i = m.end()
            continue
        for op in _OPERATORS:
            if src.startswith(op, i):
                toks.append(_Tok("op", op, i))
                i += len(op)
                break
        else:
            if ch == "}":
                raise JuelError("mixed text and expressions are not supported (unexpected '}')")
            if ch == "$" or ch == "#":
                raise JuelError("mixed text and expressions are not supported (nested '${')")
            if ch == "=":
                raise JuelError("assignment ('=') is not supported; use '==' to compare")
            raise JuelError(f"unexpected character {ch!r} at position {i}")
    toks.append(_Tok("end", None, n))
    return toks


def _number(text: str) -> int | float:
    try:
        value: int | float = float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError as exc:  # more digits than int() accepts
        raise JuelError(f"number literal {text[:20]!r}... is too long") from exc
    if isinstance(value, float) and not math.isfinite(value):
        raise JuelError(f"number literal {text!r} is out of range")
    return value


def _read_string(src: str, i: int) -> tuple[int, str]:
    quote = src[i]
    out: list[str] = []
    i += 1
    while i < len(src):
        ch = src[i]
        if ch == "\\" and i + 1 < len(src) and src[i + 1] in ("\\", "'", '"'):
            out.append(src[i + 1])
            i += 2
            continue
        if ch == quote:
            return i + 1, "".join(out)
        out.append(ch)
        i += 1
    raise JuelError("unterminated string literal")


# --------------------------------------------------------------------------------------------
# Parser: builds rendered Python text with a precedence number (higher binds tighter).

_P_TERNARY, _P_OR, _P_AND, _P_NOT, _P_CMP, _P_ADD, _P_MUL, _P_UNARY, _P_ATOM = range(1, 10)


@dataclass(frozen=True)
class _Py:
    text: str
    prec: int

    def wrap(self, min_prec: int) -> str:
        """The text, parenthesised unless it binds at least as tightly as ``min_prec``."""
        return self.text if self.prec >= min_prec else f"({self.text})"


def check_name(name: str, what: str) -> None:
    # NFKC: Python normalises identifiers, so '＿＿import＿＿' would become '__import__'.
    if unicodedata.normalize("NFKC", name) != name or not name.isidentifier():
        raise JuelError(f"{what} {name!r} is not a plain identifier")
    if name.startswith("_"):
        raise JuelError(_reserved(what, name))


def _reserved(what: str, name: str) -> str:
    return f"{what} {name!r} is not allowed (names starting with '_' are reserved)"


#: Deeper nesting of parentheses/operators is refused (keeps the recursive parser bounded).
MAX_NESTING = 64


class _Parser:
    def __init__(self, src: str) -> None:
        self.toks = _tokenize(src)
        self.i = 0
        self.depth = 0

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise JuelError(f"the expression is nested too deeply (more than {MAX_NESTING} levels)")

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def _is_op(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.value in ops

    def _take(self) -> _Tok:
        tok = self.tok
        self.i += 1
        return tok

    def _expect(self, op: str) -> None:
        if not self._is_op(op):
            raise JuelError(f"expected {op!r} but found {self._describe(self.tok)}")
        self.i += 1

    @staticmethod
    def _describe(tok: _Tok) -> str:
        return "end of expression" if tok.kind == "end" else repr(tok.value)

    def parse(self) -> _Py:
        if self.tok.kind == "end":
            raise JuelError("empty expression")
        result = self.ternary()
        if self.tok.kind != "end":
            raise JuelError(f"unexpected {self._describe(self.tok)}")
        return result

    def ternary(self) -> _Py:
        self._enter()
        try:
            return self._ternary()
        finally:
            self.depth -= 1

    def _ternary(self) -> _Py:
        cond = self.or_()
        if not self._is_op("?"):
            return cond
        self._take()
        then = self.ternary()
        self._expect(":")
        other = self.ternary()
        text = f"{then.wrap(_P_OR)} if {cond.wrap(_P_OR)} else {other.wrap(_P_OR)}"
        return _Py(text, _P_TERNARY)

    def _binary(self, ops: dict[str, str], prec: int, operand, comparison: bool = False) -> _Py:
        left = operand()
        while self._is_op(*ops):
            op = ops[self._take().value]
            right = operand()
            # Comparisons are rendered non-chaining: JUEL's 'a < b == c' is '(a < b) == c'.
            lmin = prec + 1 if comparison else prec
            left = _Py(f"{left.wrap(lmin)} {op} {right.wrap(prec + 1)}", prec)
        return left

    def or_(self) -> _Py:
        return self._binary({"||": "or"}, _P_OR, self.and_)

    def and_(self) -> _Py:
        return self._binary({"&&": "and"}, _P_AND, self.equality)

    def equality(self) -> _Py:
        return self._binary({"==": "==", "!=": "!="}, _P_CMP, self.relational, comparison=True)

    def relational(self) -> _Py:
        ops = {"<": "<", ">": ">", "<=": "<=", ">=": ">="}
        return self._binary(ops, _P_CMP, self.additive, comparison=True)

    def additive(self) -> _Py:
        return self._binary({"+": "+", "-": "-"}, _P_ADD, self.multiplicative)

    def multiplicative(self) -> _Py:
        return self._binary({"*": "*", "/": "/", "%": "%"}, _P_MUL, self.unary)

    def unary(self) -> _Py:
        self._enter()
        try:
            return self._unary()
        finally:
            self.depth -= 1

    def _unary(self) -> _Py:
        if self._is_op("!"):
            self._take()
            operand = self.unary()
            # Python's 'not' binds looser than comparisons; JUEL's '!' binds tighter, so the
            # result is marked with comparison precedence to force parentheses when compared.
            return _Py(f"not {operand.wrap(_P_NOT)}", _P_NOT)
        if self._is_op("-"):
            self._take()
            operand = self.unary()
            return _Py(f"-{operand.wrap(_P_UNARY)}", _P_UNARY)
        if self._is_op("empty"):
            self._take()
            x = self.unary().wrap(_P_ATOM)
            return _Py(f"({x} is None or {x} == '' or {x} == [] or {x} == {{}})", _P_ATOM)
        return self.value()

    def _peek(self, k: int) -> _Tok:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def value(self) -> _Py:
        base = self.primary()
        while True:
            if self._is_op("."):
                self._take()
                tok = self._take()
                if tok.kind != "name":
                    raise JuelError(f"expected a property name after '.', found {self._describe(tok)}")
                name = str(tok.value)
                check_name(name, "property")
                if self._is_op("("):
                    raise JuelError(f"method calls are not supported ('.{name}(...)')")
                base = _Py(f"{base.wrap(_P_ATOM)}[{name!r}]", _P_ATOM)
            elif self._is_op("["):
                self._take()
                index = self.ternary()
                self._expect("]")
                if index.text[:1] in ("'", '"'):
                    key = ast.literal_eval(index.text)
                    if isinstance(key, str) and key.startswith("_"):
                        raise JuelError(_reserved("property", key))
                base = _Py(f"{base.wrap(_P_ATOM)}[{index.text}]", _P_ATOM)
            elif self._is_op("("):
                raise JuelError("function and method calls are not supported")
            else:
                return base

    def primary(self) -> _Py:
        tok = self._take()
        if tok.kind in ("num", "str", "lit"):
            return _Py(repr(tok.value), _P_ATOM)
        if tok.kind == "name":
            name = str(tok.value)
            nxt, after = self._peek(1), self._peek(2)
            if self._is_op(":") and nxt.kind == "name" and after.kind == "op" and after.value == "(":
                raise JuelError(f"function calls are not supported ('{name}:{nxt.value}(...)')")
            check_name(name, "identifier")
            if keyword.iskeyword(name):
                raise JuelError(f"identifier {name!r} is a Python keyword and cannot be used as a variable")
            if name in _CONTEXT_OBJECTS:
                raise JuelError(f"Camunda context object {name!r} is not supported; use process variables")
            if self._is_op("("):
                raise JuelError(f"function calls are not supported ('{name}(...)')")
            return _Py(name, _P_ATOM)
        if tok.kind == "op" and tok.value == "(":
            inner = self.ternary()
            self._expect(")")
            return _Py(f"({inner.text})", _P_ATOM)
        if tok.kind == "op" and tok.value == "[":
            raise JuelError("list literals are not supported")
        raise JuelError(f"unexpected {self._describe(tok)}")


def parse_juel(body: str) -> str:
    """The Python expression for the body of one JUEL ``${...}`` (raises :class:`JuelError`)."""
    return _Parser(body).parse().text
