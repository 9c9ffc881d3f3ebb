"""Baton's response schemas agree with Camunda's own OpenAPI document (issue 5, part 2).

For every operation Baton serves that Camunda's document also has (path parameters match by
position: Camunda's ``{id}`` is Baton's ``{definition_id}``), the JSON bodies of the success
responses are compared member by member: names and JSON types (``integer`` counts as
``number``), recursively through ``$ref``, ``allOf``, arrays and maps. Each difference is named
after the Camunda schema it lives in (``ProcessInstanceDto.links: …``), so one difference shared
by many operations is listed once. ``DIFFERENCES`` lists every difference Baton makes on purpose,
with the reason; anything else fails, and so does an entry that no longer occurs.
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

import pytest
from openapi_helpers import deref, flatten, json_type, path_key

CAMUNDA_DOC = Path(__file__).resolve().parents[3] / "shared" / "reference" / "camunda-engine-rest-openapi.json"
PREFIX = "/engine-rest"

#: Differences Baton makes on purpose: difference (an ``fnmatch`` pattern) → why.
DIFFERENCES: dict[str, str] = {
    # Baton's restart dry run (contract 16): a 200 body on the sync endpoint, an alternative body
    # on the async one.
    "POST /process-definition/{}/restart 200: only in Baton":
        "dryRun answers what the restart would do; Camunda has no dry run.",
    "BatchDto: alternative body only in Baton (RestartDryRun)":
        "dryRun answers what the restart would do instead of a batch.",
    "HistoricActivityInstanceDto.skipped: only in Baton":
        "restart/modification instructions skip activities; history marks them skipped, not executed.",
    # submit-form shares the start view: withVariablesInReturn works there too.
    "ProcessInstanceDto.variables: only in Baton":
        "POST /process-definition/{id}/submit-form honours withVariablesInReturn like /start (a leniency).",
    # GET/POST /task answer TaskWithAttachmentAndCommentDto; its extra members are only filled with
    # withCommentAttachmentInfo / withTaskVariablesInReturn, which Baton answers with 400 Unsupported.
    "TaskWithAttachmentAndCommentDto.*: missing in Baton":
        "comments, attachments and task variables in task lists are not implemented (400 on the flags).",
    # Baton has no Camunda Forms: camundaFormRef is always null.
    "CamundaFormRef.*: missing in Baton": "camundaFormRef is always null (no Camunda Forms).",
    # Baton runs no asynchronous continuations inside instances: childTransitionInstances is always [].
    "TransitionInstanceDto.*: missing in Baton": "childTransitionInstances is always [].",
}


def _ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else None


def _name_of(doc: dict[str, Any], schema: dict[str, Any], default: str) -> str:
    """The component a (possibly allOf-wrapped) schema refers to, for naming differences."""
    name = _ref_name(schema)
    if name:
        return name
    for part in schema.get("allOf", []):
        name = _ref_name(part)
        if name:
            return name
    return default


class Comparison:
    def __init__(self, baton: dict[str, Any], camunda: dict[str, Any]) -> None:
        self.baton, self.camunda = baton, camunda
        self.differences: dict[str, list[str]] = {}  # difference → operations where seen
        self._seen: set[tuple[int, int]] = set()

    def add(self, difference: str, operation: str) -> None:
        self.differences.setdefault(difference, []).append(operation)

    def compare(self, ours: dict[str, Any], theirs: dict[str, Any], where: str, operation: str) -> None:
        where = _name_of(self.camunda, theirs, where)
        key = (id(deref(self.baton, ours)), id(deref(self.camunda, theirs)))
        if key in self._seen:  # recursive schemas (the activity instance tree)
            return
        self._seen.add(key)
        ours_flat, theirs_flat = flatten(self.baton, ours), flatten(self.camunda, theirs)
        if "oneOf" in ours_flat:  # compare the branch that is Camunda's; name the others
            branches = ours_flat["oneOf"]
            their_members = set(theirs_flat.get("properties", {}))
            best = max(branches, key=lambda b: len(their_members & set(flatten(self.baton, b).get("properties", {}))))
            for branch in branches:
                if branch is not best:
                    self.add(f"{where}: alternative body only in Baton ({_ref_name(branch)})", operation)
            self._seen.discard(key)
            self.compare(best, theirs, where, operation)
            return
        our_type, their_type = json_type(self.baton, ours), json_type(self.camunda, theirs)
        if our_type != their_type and None not in (our_type, their_type):
            self.add(f"{where}: type {our_type} (Camunda: {their_type})", operation)
            return
        if their_type == "array" or our_type == "array":
            if "items" in ours_flat and "items" in theirs_flat:
                self.compare(ours_flat["items"], theirs_flat["items"], f"{where}[]", operation)
            return
        our_members = ours_flat.get("properties", {})
        their_members = theirs_flat.get("properties", {})
        for name in sorted(our_members.keys() - their_members.keys()):
            self.add(f"{where}.{name}: only in Baton", operation)
        for name in sorted(their_members.keys() - our_members.keys()):
            self.add(f"{where}.{name}: missing in Baton", operation)
        for name in sorted(our_members.keys() & their_members.keys()):
            self.compare(our_members[name], their_members[name], f"{where}.{name}", operation)
        our_map, their_map = ours_flat.get("additionalProperties"), theirs_flat.get("additionalProperties")
        if isinstance(our_map, dict) and isinstance(their_map, dict):
            self.compare(our_map, their_map, f"{where}{{}}", operation)


def _json_success(doc: dict[str, Any], operation: dict[str, Any]) -> dict[str, dict[str, Any] | None]:
    """status → JSON body schema (None: no JSON body) of the 2xx responses."""
    result: dict[str, dict[str, Any] | None] = {}
    for status, response in operation.get("responses", {}).items():
        if status.startswith("2"):
            media = deref(doc, response).get("content", {}).get("application/json")
            result[status] = None if media is None else media.get("schema")
    return result


def _compare_all(baton: dict[str, Any], camunda: dict[str, Any]) -> tuple[Comparison, int]:
    theirs_by_key = {path_key(path): item for path, item in camunda["paths"].items()}
    comparison = Comparison(baton, camunda)
    compared = 0
    for path, item in baton["paths"].items():
        their_item = theirs_by_key.get(path_key(path.removeprefix(PREFIX)))
        for method, operation in item.items():
            if method == "parameters":
                continue
            where = f"{method.upper()} {path_key(path.removeprefix(PREFIX))}"
            if their_item is None or method not in their_item:
                comparison.add(f"{where}: not in Camunda's document", where)
                continue
            ours, theirs = _json_success(baton, operation), _json_success(camunda, their_item[method])
            for status in sorted(ours.keys() | theirs.keys()):
                if status not in theirs:
                    comparison.add(f"{where} {status}: only in Baton", where)
                elif status not in ours:
                    comparison.add(f"{where} {status}: missing in Baton", where)
                elif (ours[status] is None) != (theirs[status] is None):
                    side = "Camunda" if ours[status] is None else "Baton"
                    comparison.add(f"{where} {status}: JSON body only in {side}", where)
                elif ours[status] is not None and theirs[status] is not None:
                    comparison.compare(ours[status], theirs[status], f"{where} {status}", where)
                    compared += 1
    return comparison, compared


@pytest.fixture
def camunda_doc() -> dict[str, Any]:
    if not CAMUNDA_DOC.exists():
        pytest.skip(f"{CAMUNDA_DOC} is not present")
    return json.loads(CAMUNDA_DOC.read_text())


def test_response_schemas_agree_with_camunda(client: Any, camunda_doc: dict[str, Any]) -> None:
    baton_doc = client.raw.get("/engine-rest/openapi.json").get_json()
    comparison, compared = _compare_all(baton_doc, camunda_doc)
    assert compared >= 50, "too few response bodies compared: is the path mapping broken?"
    unexpected = {d: ops for d, ops in comparison.differences.items()
                  if not any(fnmatch.fnmatchcase(d, pattern) for pattern in DIFFERENCES)}
    stale = sorted(pattern for pattern in DIFFERENCES
                   if not any(fnmatch.fnmatchcase(d, pattern) for d in comparison.differences))
    report = "\n".join(f"{d}    ({', '.join(sorted(set(ops))[:3])})" for d, ops in sorted(unexpected.items()))
    assert not unexpected, f"differences from Camunda's document not in DIFFERENCES:\n{report}"
    assert not stale, f"DIFFERENCES entries that no longer occur: {stale}"
