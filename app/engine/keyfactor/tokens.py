"""Keyfactor's ``$(name)`` text tokens and step conditions (contract 7.2, 7.3).

* A token is ``$(`` + name + ``)``; the name is any text without ``)`` and may contain blanks.
* The name is looked up in the data bucket, key compared case-insensitively (an exact match wins).
* ``$(metadata:Field)`` is looked up in the bucket's ``Metadata`` object (both compared
  case-insensitively); if that finds nothing, a bucket key spelled ``metadata:Field`` is tried.
* Strings are inserted as they are, everything else as compact JSON (``true``, ``5``, ``{"a":1}``,
  ``null``). A token that cannot be resolved stays in the text unchanged. Inserted text is not
  scanned again for tokens.
* A condition holds when its substituted text is ``true`` (case-insensitive, blanks ignored).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["TOKEN", "condition_holds", "lookup", "render", "substitute", "substitute_deep"]

TOKEN = re.compile(r"\$\(([^)]*)\)")
_MISSING = object()
_METADATA_PREFIX = "metadata:"


def _get_ci(mapping: Mapping[str, Any], name: str) -> Any:
    if name in mapping:
        return mapping[name]
    folded = name.casefold()
    for key, value in mapping.items():
        if isinstance(key, str) and key.casefold() == folded:
            return value
    return _MISSING


def lookup(name: str, bucket: Mapping[str, Any]) -> Any:
    """The bucket value a token name refers to; KeyError when nothing matches."""
    value: Any = _MISSING
    if name.casefold().startswith(_METADATA_PREFIX):
        metadata = _get_ci(bucket, "Metadata")
        if isinstance(metadata, Mapping):
            value = _get_ci(metadata, name[len(_METADATA_PREFIX):].strip())
    if value is _MISSING:
        value = _get_ci(bucket, name)
    if value is _MISSING and name != name.strip():
        value = _get_ci(bucket, name.strip())
    if value is _MISSING:
        raise KeyError(name)
    return value


def render(value: Any) -> str:
    """How a bucket value is written into text: strings verbatim, the rest as compact JSON."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    except (TypeError, ValueError):  # circular data: still never fail a substitution
        return str(value)


def substitute(text: str, bucket: Mapping[str, Any]) -> str:
    """Replace every resolvable ``$(name)`` token in ``text`` (see the module docstring)."""
    if not isinstance(text, str) or "$(" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        try:
            return render(lookup(match.group(1), bucket))
        except KeyError:
            return match.group(0)

    return TOKEN.sub(replace, text)


def substitute_deep(value: Any, bucket: Mapping[str, Any]) -> Any:
    """Token substitution in a string, in each string element of a list, in each dict value."""
    if isinstance(value, str):
        return substitute(value, bucket)
    if isinstance(value, list):
        return [substitute_deep(item, bucket) for item in value]
    if isinstance(value, dict):
        return {key: substitute_deep(item, bucket) for key, item in value.items()}
    return value


def condition_holds(value: Any, bucket: Mapping[str, Any]) -> bool:
    """True when the condition value, after substitution, is ``true`` (any case, blanks ignored)."""
    text = value if isinstance(value, str) else render(value)
    return substitute(text, bucket).strip().lower() == "true"
