"""State-only workflow serialization.

SpiffWorkflow's serializer stores the whole parsed spec with every instance. Baton caches
parsed specs per definition instead, so the stored JSON holds only the task tree and data,
and the cached spec is handed back on load (DESIGN.md, "Engine facts").
"""

from __future__ import annotations

import json
from typing import Any

from SpiffWorkflow.bpmn.serializer import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG


class StateOnlyWorkflowConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], spec: Any = None, subprocess_specs: Any = None,
                  **_: Any) -> BpmnWorkflow:
        from uuid import UUID

        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _make_serializer() -> BpmnWorkflowSerializer:
    config = dict(CAMUNDA_CONFIG)
    config[BpmnWorkflow] = StateOnlyWorkflowConverter
    # Thrown events kept in workflow.bpmn_events may carry the plain BPMN message definition
    # (send tasks, throw events), which CAMUNDA_CONFIG replaced by its own: keep both.
    config[MessageEventDefinition] = DEFAULT_CONFIG[MessageEventDefinition]
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


_SERIALIZER = _make_serializer()


def dumps(workflow: BpmnWorkflow) -> str:
    data = _SERIALIZER.to_dict(workflow)
    data[_SERIALIZER.VERSION_KEY] = _SERIALIZER.VERSION
    # The registry-aware encoder: task data may hold datetimes and other registered types.
    return json.dumps(data, separators=(",", ":"), cls=_SERIALIZER._encoder_cls)  # noqa: SLF001


def loads(text: str, spec: Any, subprocess_specs: dict[str, Any], script_engine: Any) -> BpmnWorkflow:
    # Restoring mutates its input, so always load from fresh JSON text.
    data = json.loads(text, cls=_SERIALIZER.json_decoder_cls)
    _SERIALIZER.migrate(data)
    workflow = _SERIALIZER.from_dict(data, spec=spec, subprocess_specs=subprocess_specs)
    workflow.script_engine = script_engine
    return workflow
