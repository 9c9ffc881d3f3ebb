"""Batch response schemas (BatchDto, BatchStatisticsDto, HistoricBatchDto)."""

from __future__ import annotations

from marshmallow import fields

from app.api.camunda.openapi import ResponseSchema
from app.api.camunda.schemas import CamundaDate, null


class BatchSchema(ResponseSchema):
    id = fields.String()
    type = fields.String()
    totalJobs = fields.Integer(attribute="total_jobs")
    jobsCreated = fields.Integer(attribute="jobs_created")
    batchJobsPerSeed = fields.Constant(100, metadata={"type": "integer"})
    invocationsPerBatchJob = fields.Constant(1, metadata={"type": "integer"})
    seedJobDefinitionId = fields.String(attribute="seed_job_definition_id")
    monitorJobDefinitionId = fields.String(attribute="monitor_job_definition_id")
    batchJobDefinitionId = fields.String(attribute="batch_job_definition_id")
    suspended = fields.Boolean()
    tenantId = fields.String(attribute="tenant_id", allow_none=True)
    createUserId = fields.String(attribute="create_user_id", allow_none=True)
    startTime = CamundaDate(attribute="start_time")
    executionStartTime = CamundaDate(attribute="execution_start_time", allow_none=True)


class BatchStatisticsSchema(BatchSchema):
    remainingJobs = fields.Integer(attribute="remaining")
    completedJobs = fields.Integer(attribute="completed")
    failedJobs = fields.Integer(attribute="failed")


class HistoricBatchSchema(ResponseSchema):
    id = fields.String()
    type = fields.String()
    totalJobs = fields.Integer(attribute="total_jobs")
    batchJobsPerSeed = fields.Constant(100, metadata={"type": "integer"})
    invocationsPerBatchJob = fields.Constant(1, metadata={"type": "integer"})
    seedJobDefinitionId = fields.String(attribute="seed_job_definition_id")
    monitorJobDefinitionId = fields.String(attribute="monitor_job_definition_id")
    batchJobDefinitionId = fields.String(attribute="batch_job_definition_id")
    tenantId = fields.String(attribute="tenant_id", allow_none=True)
    createUserId = fields.String(attribute="create_user_id", allow_none=True)
    startTime = CamundaDate(attribute="start_time")
    endTime = CamundaDate(attribute="end_time", allow_none=True)
    executionStartTime = CamundaDate(attribute="execution_start_time", allow_none=True)
    removalTime = null("string")
