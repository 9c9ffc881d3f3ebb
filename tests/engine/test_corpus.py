"""Every BPMN file of the shared corpus either deploys or is refused with a clean BpmnParseError.

Corpus attribution (see /work/shared/corpus/README.md):
- miwg/: BPMN Model Interchange Working Group test suite (github.com/bpmn-miwg/bpmn-miwg-test-suite,
  commit bc9f858c), licensed CC BY 3.0 (miwg/LICENSE.txt).
- spiff/: test models from SpiffWorkflow (github.com/sartography/SpiffWorkflow, commit 8c6e00f6),
  licensed LGPL-3.0 (spiff/COPYING.LGPL-3.0).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.engine.model import build_model_index
from app.engine.parsing import BpmnParseError, ParsedDeployment, load_process, parse_deployment

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"BPMN corpus not found at {CORPUS}")

#: Files that must be deployed together with others (call activities across files).
COMPANIONS = {
    "spiff/bpmn__call_activity_end_event.bpmn": ["spiff/bpmn__call_activity_call_activity.bpmn"],
}

#: miwg files that deploy today (including those whose processes are all non-executable and so
#: deploy nothing). A regression below this floor fails the test; raise it when Baton improves.
MIWG_DEPLOY_FLOOR = 31
#: miwg files that deploy at least one executable process.
MIWG_EXECUTABLE_FLOOR = 9


def corpus_files() -> list[str]:
    if not CORPUS.is_dir():
        return []
    return sorted(str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*.bpmn"))


def deploy(rel: str) -> ParsedDeployment:
    resources = {rel: (CORPUS / rel).read_bytes()}
    for other in COMPANIONS.get(rel, []):
        resources[other] = (CORPUS / other).read_bytes()
    return parse_deployment(resources)


def outcome(rel: str) -> ParsedDeployment | BpmnParseError:
    started = time.perf_counter()
    try:
        result: ParsedDeployment | BpmnParseError = deploy(rel)
    except BpmnParseError as exc:  # anything else propagates and fails the test
        result = exc
    assert time.perf_counter() - started < 5, f"{rel} took too long"
    return result


@pytest.mark.parametrize("rel", corpus_files())
def test_file_deploys_or_is_refused_cleanly(rel: str) -> None:
    result = outcome(rel)
    if isinstance(result, BpmnParseError):
        assert result.problems, rel
        assert all(p.message.strip() for p in result.problems), rel
        assert result.resource_name in {rel, *COMPANIONS.get(rel, [])}
        assert str(result)
    else:
        for model in result.processes:
            # What deployed can be loaded again from the stored bytes, and indexed.
            resources = {rel: (CORPUS / rel).read_bytes()}
            resources.update({o: (CORPUS / o).read_bytes() for o in COMPANIONS.get(rel, [])})
            spec, _ = load_process(resources, model.key)
            assert spec.name == model.key
            index = build_model_index(resources, model.key)
            assert index.activities


def test_all_spiff_files_deploy() -> None:
    spiff = [rel for rel in corpus_files() if rel.startswith("spiff/")]
    assert len(spiff) == 26
    failures = {rel: str(r) for rel in spiff if isinstance(r := outcome(rel), BpmnParseError)}
    assert failures == {}


def test_miwg_deploy_count_does_not_regress(capsys: pytest.CaptureFixture[str]) -> None:
    miwg = [rel for rel in corpus_files() if rel.startswith("miwg/")]
    results = {rel: outcome(rel) for rel in miwg}
    deployed = [rel for rel, r in results.items() if isinstance(r, ParsedDeployment)]
    executable = [rel for rel in deployed if results[rel].processes]  # type: ignore[union-attr]
    with capsys.disabled():
        print(f"\nmiwg corpus: {len(deployed)}/{len(miwg)} files deploy, "
              f"{len(executable)} of them with executable processes")
    assert len(deployed) >= MIWG_DEPLOY_FLOOR
    assert len(executable) >= MIWG_EXECUTABLE_FLOOR
