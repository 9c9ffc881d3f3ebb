"""The ``/task`` query parameters (contract 9.2): implemented filters, unsupported ones, sort keys.

``unsupported`` lists every other filter Camunda's ``GET /task`` and ``TaskQueryDto`` define, so
a client relying on one gets ``400 Unsupported query parameter '<name>'`` instead of too many
rows (contract 5.1). Semantics of each implemented filter: ``app/services/task_queries.py``.
"""

from __future__ import annotations

from app.api.camunda.params import QuerySpec
from app.services.task_queries import SORT_COLUMNS

_STR = (
    "taskId", "processInstanceId", "processInstanceBusinessKey", "processInstanceBusinessKeyLike",
    "processDefinitionId", "processDefinitionKey", "processDefinitionName", "processDefinitionNameLike",
    "executionId", "assignee", "assigneeLike", "owner", "candidateUser", "candidateGroup",
    "taskDefinitionKey", "taskDefinitionKeyLike", "name", "nameLike", "nameNotEqual", "nameNotLike",
    "description", "descriptionLike", "parentTaskId",
)
_STR_LIST = (
    "taskIdIn", "processInstanceIdIn", "processInstanceBusinessKeyIn", "processDefinitionKeyIn",
    "activityInstanceIdIn", "tenantIdIn", "assigneeIn", "assigneeNotIn", "candidateGroups",
    "taskDefinitionKeyIn",
)
# Camunda documents all of these as "value may only be true".
_TRUE_ONLY = (
    "withoutTenantId", "includeAssignedTasks", "assigned", "unassigned", "withCandidateGroups",
    "withoutCandidateGroups", "withCandidateUsers", "withoutCandidateUsers", "withoutDueDate", "active",
    "suspended", "variableNamesIgnoreCase", "variableValuesIgnoreCase",
)
_INT = ("priority", "minPriority", "maxPriority")
_DATE = (
    "dueDate", "dueAfter", "dueBefore", "followUpDate", "followUpAfter", "followUpBefore", "createdOn",
    "createdAfter", "createdBefore",
)
_VARIABLES = ("taskVariables", "processVariables")

# Every other filter of Camunda's task query (OpenAPI: GET /task parameters + TaskQueryDto).
UNSUPPORTED = (
    # JUEL expressions: Baton evaluates no expressions in queries.
    "assigneeExpression", "assigneeLikeExpression", "candidateGroupExpression", "candidateGroupsExpression",
    "candidateUserExpression", "createdAfterExpression", "createdBeforeExpression", "createdOnExpression",
    "dueAfterExpression", "dueBeforeExpression", "dueDateExpression", "followUpAfterExpression",
    "followUpBeforeExpression", "followUpBeforeOrNotExistentExpression", "followUpDateExpression",
    "involvedUserExpression", "ownerExpression", "processInstanceBusinessKeyExpression",
    "processInstanceBusinessKeyLikeExpression", "updatedAfterExpression",
    # CMMN: Baton has no cases.
    "caseDefinitionId", "caseDefinitionKey", "caseDefinitionName", "caseDefinitionNameLike",
    "caseExecutionId", "caseInstanceBusinessKey", "caseInstanceBusinessKeyLike", "caseInstanceId",
    "caseInstanceVariables",
    # Not in contract 9.2's list.
    "candidateGroupLike", "delegationState", "followUpBeforeOrNotExistent", "involvedUser",
    "taskDefinitionKeyNotIn", "updatedAfter",
    # Response shaping Baton does not produce (contract 9.1).
    "withCommentAttachmentInfo", "withTaskVariablesInReturn", "withTaskLocalVariablesInReturn",
)

QUERY = QuerySpec(
    filters={
        **dict.fromkeys(_STR, "str"),
        **dict.fromkeys(_STR_LIST, "str_list"),
        **dict.fromkeys(_TRUE_ONLY, "true_only"),
        **dict.fromkeys(_INT, "int"),
        **dict.fromkeys(_DATE, "date"),
        **dict.fromkeys(_VARIABLES, "variables"),
    },
    unsupported=UNSUPPORTED,
    sort_by=SORT_COLUMNS.keys(),
    or_queries=True,
)
