"""The step types and workflow types Baton offers (contract 7.4, 8), as plain data.

``ParameterType``/``ControlType`` integers are Baton's own (Keyfactor's are not public; clients
treat them as opaque): see :data:`PARAMETER_TYPES` and :data:`CONTROL_TYPES`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "ALL_WORKFLOW_TYPES", "CONTROL_TYPES", "PARAMETER_TYPES", "POWERSHELL_NAMES", "STEP_TYPES", "WORKFLOW_TYPES",
    "Param", "StepType", "WorkflowType", "canonical_workflow_type", "find_step_type",
]

#: Parameter kinds (``Param.kind``) → ``ParameterType`` integer.
PARAMETER_TYPES = {"string": 0, "int": 1, "bool": 2, "string_list": 3, "object": 4, "html": 5, "script": 6,
                   "secret": 7}
#: Parameter kinds → ``ControlType`` integer (0 text box, 1 number, 2 check box, 3 multi-value, 4 key/value
#: table, 5 HTML editor, 6 code editor, 7 password; a parameter with choices uses 0 plus PotentialValues).
CONTROL_TYPES = {"string": 0, "int": 1, "bool": 2, "string_list": 3, "object": 4, "html": 5, "script": 6,
                 "secret": 7}


@dataclass(frozen=True)
class Param:
    """One configuration parameter (or signal input) of a step type."""

    name: str
    display_name: str
    kind: str  # a key of PARAMETER_TYPES
    required: bool = False
    default: str | None = None
    tokens: bool = False  # SupportTokenReplacement
    choices: tuple[str, ...] = ()  # allowed values (matched case-insensitively, stored as spelled here)
    minimum: int | None = None  # for "int"
    string_values: bool = False  # for "object": every value must be a string (HTTP headers)


@dataclass(frozen=True)
class StepType:
    extension_name: str
    display_name: str
    workflow_types: tuple[str, ...]
    parameters: tuple[Param, ...] = ()
    #: signal name → its input parameters
    signals: dict[str, tuple[Param, ...]] = field(default_factory=dict)
    #: signals a step of this type must configure (RequireApproval: ApprovalStatus)
    required_signals: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ("continue",)
    #: Enroll/Revoke: no conditions, at most one per definition, cannot be disabled
    built_in: bool = False


@dataclass(frozen=True)
class WorkflowType:
    name: str
    key_type: str
    #: extension names of the built-in step(s) (appended at the end when a definition lacks them)
    built_in_steps: tuple[str, ...] = ()


ALL_WORKFLOW_TYPES = ("Enrollment", "Revocation", "CertificateEnteredCollection", "CertificateLeftCollection",
                      "Expiration")

WORKFLOW_TYPES: dict[str, WorkflowType] = {
    "Enrollment": WorkflowType("Enrollment", "Template", ("EnrollStep",)),
    "Revocation": WorkflowType("Revocation", "Template", ("RevokeStep",)),
    "CertificateEnteredCollection": WorkflowType("CertificateEnteredCollection", "Collection"),
    "CertificateLeftCollection": WorkflowType("CertificateLeftCollection", "Collection"),
    "Expiration": WorkflowType("Expiration", "Alert"),
}

_REST_PARAMETERS = (
    Param("Verb", "HTTP Verb", "string", required=True, choices=("GET", "POST", "PUT", "PATCH", "DELETE")),
    Param("URL", "URL", "string", required=True, tokens=True),
    Param("ContentType", "Content Type", "string"),
    Param("RequestContent", "Request Content", "string", tokens=True),
    Param("Headers", "Headers", "object", tokens=True, string_values=True),
    Param("DataBucketProperty", "Data Bucket Property", "string"),
)

STEP_TYPES: dict[str, StepType] = {t.extension_name: t for t in (
    StepType("NOOPStep", "No Operation", ALL_WORKFLOW_TYPES),
    StepType("RequireApproval", "Require Approval", ALL_WORKFLOW_TYPES,
             parameters=(Param("MinimumApprovals", "Minimum Approvals", "int", default="1", minimum=1),),
             signals={"ApprovalStatus": (Param("Approved", "Approved", "bool", required=True),
                                         Param("Comment", "Comment", "string"))},
             required_signals=("ApprovalStatus",)),
    StepType("Email", "Email", ALL_WORKFLOW_TYPES, parameters=(
        Param("Subject", "Subject", "string", required=True, tokens=True),
        Param("Message", "Message", "html", required=True, tokens=True),
        Param("Recipients", "Recipients", "string_list", required=True, tokens=True),
    )),
    StepType("RESTRequest", "REST Request", ALL_WORKFLOW_TYPES, parameters=_REST_PARAMETERS),
    StepType("OAuthRESTRequest", "OAuth REST Request", ALL_WORKFLOW_TYPES, parameters=(
        *_REST_PARAMETERS,
        Param("TokenEndpoint", "Token Endpoint", "string", required=True),
        Param("client_id", "Client ID", "string", required=True),
        Param("client_secret", "Client Secret", "secret", required=True),
        Param("scope", "Scope", "string"),
        Param("audience", "Audience", "string"),
    )),
    StepType("PythonScript", "Python Script", ALL_WORKFLOW_TYPES, parameters=(
        Param("ScriptContent", "Script Content", "script", required=True),
        Param("ScriptParameters", "Script Parameters", "object", tokens=True),
    )),
    StepType("EnrollStep", "Enroll", ("Enrollment",), built_in=True),
    StepType("RevokeStep", "Revoke", ("Revocation",), built_in=True),
    StepType("UpdateMetadata", "Update Metadata", ALL_WORKFLOW_TYPES, parameters=(
        Param("Name", "Metadata Field Name", "string", required=True),
        Param("Value", "Value", "string", required=True, tokens=True),
    )),
)}

#: Keyfactor step types Baton refuses (PythonScript replaces them), by lower-case name.
POWERSHELL_NAMES = {"powershell": "PowerShell", "custompowershell": "CustomPowerShell"}


def find_step_type(extension_name: str) -> StepType | None:
    """The step type whose ExtensionName matches case-insensitively, or None."""
    if not isinstance(extension_name, str):
        return None
    folded = extension_name.strip().casefold()
    return next((t for name, t in STEP_TYPES.items() if name.casefold() == folded), None)


def canonical_workflow_type(name: str) -> str | None:
    """``enrollment`` → ``Enrollment``; None for an unknown type."""
    if not isinstance(name, str):
        return None
    folded = name.strip().casefold()
    return next((t for t in WORKFLOW_TYPES if t.casefold() == folded), None)
