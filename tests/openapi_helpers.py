"""Reading OpenAPI 3.0 documents in tests: ``$ref``/``allOf`` resolution, member types, and a
small validator for the subset of schema keywords Baton's document uses."""

from __future__ import annotations

import re
from typing import Any

Doc = dict[str, Any]
Schema = dict[str, Any]

_JSON_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
}


def deref(doc: Doc, schema: Schema) -> Schema:
    """Follow ``$ref`` chains (local refs only)."""
    seen = set()
    while "$ref" in schema:
        target = schema["$ref"]
        if target in seen:
            raise ValueError(f"circular $ref {target}")
        seen.add(target)
        node: Any = doc
        for part in target.removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def flatten(doc: Doc, schema: Schema) -> Schema:
    """One object schema: ``$ref`` resolved, ``allOf`` parts merged, a nullable ``anyOf`` wrapper
    (apispec's ``[{"type": "object", "nullable": true}, {"$ref": …}]``) reduced to its ``$ref``."""
    schema = deref(doc, schema)
    if "anyOf" in schema:
        real = [part for part in schema["anyOf"] if "$ref" in part or part.get("type") != "object"
                or "properties" in part]
        if len(real) == 1:
            merged = dict(flatten(doc, real[0]))
            merged["nullable"] = True
            return merged
    if "allOf" not in schema:
        return schema
    result: Schema = {k: v for k, v in schema.items() if k != "allOf"}
    properties: dict[str, Any] = dict(result.get("properties", {}))
    for part in schema["allOf"]:
        part = flatten(doc, part)
        properties.update(part.get("properties", {}))
        for key, value in part.items():
            if key not in ("properties", "required"):
                result.setdefault(key, value)
    if properties:
        result["properties"] = properties
    return result


def json_type(doc: Doc, schema: Schema) -> str | None:
    """The JSON type a schema names (``number`` for integers too); None for "any"."""
    schema = flatten(doc, schema)
    type_ = schema.get("type")
    if type_ is None and "properties" in schema:
        return "object"
    if type_ == "integer":
        return "number"
    return type_


def validate(doc: Doc, schema: Schema, value: Any, where: str = "$") -> list[str]:
    """Problems of ``value`` against ``schema`` (empty list: valid)."""
    schema = flatten(doc, schema)
    if value is None:
        return [] if schema.get("nullable") or not schema else [f"{where}: null but not nullable"]
    for key in ("oneOf", "anyOf"):
        if key in schema:
            results = [validate(doc, part, value, where) for part in schema[key]]
            if not any(not problems for problems in results):
                return [f"{where}: matches no {key} branch: {results}"]
            return []
    problems: list[str] = []
    type_ = schema.get("type")
    if type_ in _JSON_TYPES and not isinstance(value, _JSON_TYPES[type_]):
        return [f"{where}: expected {type_}, got {type(value).__name__}"]
    if type_ in ("integer", "number") and (isinstance(value, bool) or not isinstance(value, int | float)):
        return [f"{where}: expected {type_}, got {type(value).__name__}"]
    if type_ == "integer" and isinstance(value, float):
        problems.append(f"{where}: expected integer, got float")
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} not in {schema['enum']}")
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        problems.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            problems += validate(doc, schema["items"], item, f"{where}[{index}]")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                problems.append(f"{where}: missing member {name!r}")
        extra = schema.get("additionalProperties", True)
        for name, member in value.items():
            if name in properties:
                problems += validate(doc, properties[name], member, f"{where}.{name}")
            elif extra is False:
                problems.append(f"{where}: undocumented member {name!r}")
            elif isinstance(extra, dict):
                problems += validate(doc, extra, member, f"{where}.{name}")
    return problems


def response_schema(doc: Doc, path: str, method: str, status: int) -> Schema | None:
    """The JSON schema of a documented response, or None if it has no JSON body."""
    response = deref(doc, doc["paths"][path][method]["responses"][str(status)])
    media = response.get("content", {}).get("application/json")
    return None if media is None else media["schema"]


def path_key(path: str) -> str:
    """A path with every ``{param}`` replaced by ``{}`` (Camunda says ``{id}``, Baton ``{definition_id}``)."""
    return re.sub(r"\{[^}]*\}", "{}", path)
