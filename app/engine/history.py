"""What the task tree says about activity instances, for the history tables.

Each SpiffWorkflow task of a BPMN flow node that held a token is one Camunda activity
instance. Only tasks that changed since ``since`` are reported, so a save touches the
rows of this transaction's activities, not the instance's whole past.
"""

from __future__ import annotations

from dataclasses import dataclass

from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask, StandardLoopTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from app.engine.runtime import all_workflows

SKIPPED_FLAG = "baton_skipped"


@dataclass
class ActivityView:
    id: str
    task_id: str
    activity_id: str
    #: Enclosing activity instance (subprocess, multi-instance body); None = the process instance.
    parent_id: str | None
    #: "active", "completed", "canceled"
    status: str
    changed: float
    multi_instance_body: bool
    skipped: bool
    complete_scope: bool


def activity_instance_id(task: Task) -> str:
    bpmn_id = task.task_spec.bpmn_id
    if isinstance(task.task_spec, MultiInstanceTask):
        return f"{bpmn_id}#multiInstanceBody:{task.id}"
    return f"{bpmn_id}:{task.id}"


def _is_loop_container(task: Task) -> bool:
    # A standard loop's own task only holds the iterations; Camunda shows just the iterations.
    return isinstance(task.task_spec, StandardLoopTask)


def _parent_id(task: Task, workflow: BpmnWorkflow) -> str | None:
    parent = task.parent
    while parent is not None:
        if isinstance(parent.task_spec, MultiInstanceTask) and parent.task_spec.bpmn_id == task.task_spec.bpmn_id:
            return activity_instance_id(parent)
        if isinstance(parent.task_spec, StandardLoopTask) and parent.task_spec.bpmn_id == task.task_spec.bpmn_id:
            parent = parent.parent
            continue
        break
    sub = task.workflow
    if sub is workflow or sub.parent_task_id is None:
        return None
    owner = workflow.get_task_from_id(sub.parent_task_id)
    return activity_instance_id(owner) if owner is not None else None


def activity_views(workflow: BpmnWorkflow, since: float | None = None) -> list[ActivityView]:
    views: list[ActivityView] = []
    for wf in all_workflows(workflow):
        for task in wf.get_tasks():
            spec = task.task_spec
            if spec.bpmn_id is None or _is_loop_container(task):
                continue
            if since is not None and task.last_state_change < since:
                continue
            state = task.state
            if state & (TaskState.LIKELY | TaskState.MAYBE | TaskState.FUTURE):
                continue
            if isinstance(spec, BoundaryEvent) and state != TaskState.COMPLETED:
                continue  # an armed boundary event is not an activity instance until it fires
            if state == TaskState.COMPLETED:
                status = "completed"
            elif state == TaskState.CANCELLED:
                status = "canceled"
            else:
                status = "active"
            views.append(ActivityView(
                id=activity_instance_id(task),
                task_id=str(task.id),
                activity_id=spec.bpmn_id,
                parent_id=_parent_id(task, workflow),
                status=status,
                changed=task.last_state_change,
                multi_instance_body=isinstance(spec, MultiInstanceTask),
                skipped=bool(task.internal_data.get(SKIPPED_FLAG)),
                complete_scope=isinstance(spec, EndEvent) and state == TaskState.COMPLETED,
            ))
    views.sort(key=lambda v: v.changed)
    return views
