"""Response schemas of ``/job``, ``/job-definition`` and ``/incident`` (JobDto, JobDefinitionDto,
IncidentDto of Camunda's OpenAPI document). Every member is always present."""

from __future__ import annotations

from marshmallow import fields

from app.api.camunda.openapi import ResponseSchema
from app.api.camunda.schemas import CamundaDate, computed, null
from app.services.jobs import api_job_definition_id


class JobSchema(ResponseSchema):
    id = fields.String()
    jobDefinitionId = computed(api_job_definition_id, "string", nullable=True)
    dueDate = CamundaDate(attribute="due_date", allow_none=True)
    processInstanceId = fields.String(attribute="process_instance_id", allow_none=True)
    executionId = fields.String(attribute="execution_id", allow_none=True)
    processDefinitionId = fields.String(attribute="definition_id", allow_none=True)
    processDefinitionKey = fields.String(attribute="definition_key", allow_none=True)
    retries = fields.Integer()
    exceptionMessage = fields.String(attribute="exception_message", allow_none=True)
    # Camunda names the activity that raised the last exception; Baton's jobs run one activity.
    failedActivityId = computed(lambda job: job.activity_id if job.exception_message else None, "string",
                                nullable=True)
    suspended = fields.Boolean()
    priority = fields.Constant(0, metadata={"type": "integer", "format": "int64"})
    tenantId = fields.String(attribute="tenant_id", allow_none=True)
    createTime = CamundaDate(attribute="created")
    batchId = fields.String(attribute="batch_id", allow_none=True)


class JobDefinitionSchema(ResponseSchema):
    id = fields.String()
    processDefinitionId = fields.String(attribute="definition_id", allow_none=True)
    processDefinitionKey = fields.String(attribute="definition_key", allow_none=True)
    activityId = fields.String(attribute="activity_id", allow_none=True)
    jobType = fields.String(attribute="job_type")
    jobConfiguration = fields.String(attribute="configuration", allow_none=True)
    overridingJobPriority = null("integer", format="int64")
    suspended = fields.Boolean()
    tenantId = fields.String(attribute="tenant_id", allow_none=True)
    deploymentId = fields.String(attribute="deployment_id", allow_none=True)


class IncidentSchema(ResponseSchema):
    """Dumps ``app.services.incidents.IncidentView`` (the row plus its job definition id)."""

    id = fields.String(attribute="row.id")
    processDefinitionId = fields.String(attribute="row.definition_id", allow_none=True)
    processInstanceId = fields.String(attribute="row.process_instance_id", allow_none=True)
    executionId = fields.String(attribute="row.execution_id", allow_none=True)
    incidentTimestamp = CamundaDate(attribute="row.created")
    incidentType = fields.String(attribute="row.type")
    activityId = fields.String(attribute="row.activity_id", allow_none=True)
    # (Functions: marshmallow refuses two fields with the same attribute.)
    failedActivityId = computed(lambda view: view.row.activity_id, "string", nullable=True)
    # Baton's incidents are all root incidents: their own cause.
    causeIncidentId = computed(lambda view: view.row.id, "string")
    rootCauseIncidentId = computed(lambda view: view.row.id, "string")
    configuration = fields.String(attribute="row.job_id", allow_none=True)
    tenantId = fields.String(attribute="row.tenant_id", allow_none=True)
    incidentMessage = fields.String(attribute="row.message", allow_none=True)
    jobDefinitionId = fields.String(attribute="job_definition_id", allow_none=True)
    annotation = null("string")
