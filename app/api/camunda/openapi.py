"""OpenAPI documentation of the Camunda dialect (``/engine-rest/openapi.json``).

Three things live here so that the document cannot drift from what the views do:

- :func:`query_parameters` and :func:`query_body_schema` turn a :class:`QuerySpec` (the same
  object that parses a list/count query) into OpenAPI parameters and a marshmallow body schema;
- the error shape (``{type, message, code}`` and ParseException's ``details``) and the error
  responses, registered once as components;
- :class:`CamundaDocPlugin`, an apispec plugin that gives every operation its error responses
  (by rule, see :meth:`CamundaDocPlugin.error_statuses`) and marks every member of a response
  schema as required (contract 1.4: every documented member is always present).
"""

from __future__ import annotations

from typing import Any, ClassVar

from apispec import APISpec, BasePlugin
from marshmallow import EXCLUDE, Schema, fields, validate

from app.api.camunda.params import SORT_ORDERS, VARIABLE_OPERATORS, QuerySpec
from app.services.permissions import camunda_permission

# --- the error shape -------------------------------------------------------------------------


class ResponseSchema(Schema):
    """Base of every response schema: its members are always present (unset ones are ``null``).

    The plugin below lists all members as ``required``; members named in ``optional_members``
    appear only in some responses (e.g. ``variables`` with ``withVariablesInReturn``).
    """

    optional_members: ClassVar[frozenset[str]] = frozenset()


class ExceptionSchema(ResponseSchema):
    """Camunda's ``ExceptionDto`` (contract 2.1)."""

    type = fields.String(metadata={"description": "Simple class name of the Camunda exception, e.g. "
                                                  "`InvalidRequestException`."})
    message = fields.String(metadata={"description": "Human-readable text."})
    code = fields.Integer(allow_none=True, metadata={"description": "`null` on every 4xx, `0` on every 5xx."})


class ProblemSchema(ResponseSchema):
    message = fields.String()
    line = fields.Integer()
    column = fields.Integer()
    mainElementId = fields.String(allow_none=True)
    elementIds = fields.List(fields.String())


class ResourceReportSchema(ResponseSchema):
    errors = fields.List(fields.Nested(ProblemSchema))
    warnings = fields.List(fields.Nested(ProblemSchema))


class ParseExceptionSchema(ExceptionSchema):
    """``ParseException`` of a deployment: ``details`` maps each refused resource to its problems."""

    optional_members = frozenset({"details"})
    details = fields.Dict(keys=fields.String(), values=fields.Nested(ResourceReportSchema))


#: status → (response component name, description). Every error body is an ``Exception``.
ERROR_RESPONSES: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "`InvalidRequestException` (malformed JSON, a member of the wrong type, an invalid "
                        "query parameter, an unsupported filter) or a violated business rule."),
    401: ("Unauthorized", "`AuthenticationException`: missing or wrong HTTP Basic credentials."),
    403: ("Forbidden", "`AuthorizationException`: the user lacks the permission claim this call needs "
                       "(app/services/permissions.py)."),
    404: ("NotFound", "An id in the path names nothing."),
    409: ("Conflict", "`OptimisticLockingException`: the target changed under the request and retrying "
                      "did not help."),
    413: ("PayloadTooLarge", "The request body is larger than the allowed maximum."),
    500: ("ServerError", "The process failed while running (script error, failing expression...); the "
                         "request's transaction was rolled back. Also the few cases where Camunda itself "
                         "answers 500 (see each operation)."),
}


#: Answered by the HTTP server in front of Baton (gunicorn: a request line over 4094 bytes), with
#: its own HTML page, not Camunda's error JSON; any URL can be too long.
URI_TOO_LONG = "UriTooLong"


def register_components(spec: APISpec) -> None:
    """The error schemas, the error responses and the HTTP Basic security scheme."""
    spec.components.response(URI_TOO_LONG, {"description": "URI too long: refused by the HTTP server before "
                                                           "Baton sees the request (not JSON)."})
    if "Exception" not in spec.components.schemas:  # flask-smorest registers its ERROR_SCHEMA itself
        spec.components.schema("Exception", schema=ExceptionSchema)
    spec.components.schema("ParseException", schema=ParseExceptionSchema)
    for name, description in ERROR_RESPONSES.values():
        schema = {"$ref": "#/components/schemas/Exception"}
        spec.components.response(name, {"description": description,
                                        "content": {"application/json": {"schema": schema}}})
    spec.components.security_scheme("basicAuth", {"type": "http", "scheme": "basic"})


def error_response(status: int) -> str:
    """The component name of an error response, for ``@blp.doc(responses={...})``."""
    return ERROR_RESPONSES[status][0]


# --- query parameters and query bodies -------------------------------------------------------

_INT32 = {"type": "integer", "format": "int32"}
#: The date forms parse_date accepts (contract 3). Not ``format: date-time``: Camunda's own form
#: (``+0000``, no colon) is not RFC 3339, and RFC 3339 allows forms Baton refuses.
DATE_INPUT_PATTERN = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
                      r"(Z|[+-][0-9]{2}:?[0-9]{2})?$")
_DATE_NOTE = ("`yyyy-MM-dd'T'HH:mm:ss.SSSZ`; also `+HH:MM`/`Z` offsets, no offset (UTC), 0-6 fraction "
              "digits (contract 3).")
_DATE = {"type": "string", "pattern": DATE_INPUT_PATTERN}
_LIST = {"type": "array", "items": {"type": "string"}}

#: The GET parameter schema of each filter kind (params.py's table).
_PARAM_SCHEMAS: dict[str, dict[str, Any]] = {
    "str": {"type": "string"},
    "str_list": _LIST,
    "bool": {"type": "boolean"},
    "true_only": {"type": "boolean"},
    "int": _INT32,
    "date": _DATE,
    "variables": _LIST,
}
_PARAM_NOTES = {
    "str_list": "Comma-separated; repeated keys are accepted too.",
    "true_only": "Only `true` has an effect.",
    "date": _DATE_NOTE,
    "variables": "Comma-separated `name_operator_value` expressions; operators: "
                 + ", ".join(f"`{op}`" for op in VARIABLE_OPERATORS) + ".",
}

#: Names of the POST query body schemas (the plugin: a query is not a write, so no 409).
QUERY_BODY_SCHEMAS: set[str] = set()


def paging_parameters() -> list[dict[str, Any]]:
    """``firstResult``/``maxResults``: always query parameters, also for POST queries (5.4)."""
    return [
        {"name": "firstResult", "in": "query", "required": False,
         "schema": {**_INT32, "minimum": 0}, "description": "Index of the first result to return."},
        {"name": "maxResults", "in": "query", "required": False,
         "schema": {**_INT32, "minimum": 0}, "description": "Maximum number of results; unlimited if absent."},
    ]


def query_parameters(spec: QuerySpec, *, count: bool = False) -> list[dict[str, Any]]:
    """The OpenAPI parameters of a ``GET`` list (or, with ``count``, count) query.

    Counts take the filters only: Camunda documents no sorting or paging for them.
    """
    params: list[dict[str, Any]] = []
    for name, kind in spec.filters.items():
        param: dict[str, Any] = {"name": name, "in": "query", "required": False,
                                 "schema": dict(_PARAM_SCHEMAS[kind])}
        if kind in ("str_list", "variables"):
            param.update(style="form", explode=False)
        if kind in _PARAM_NOTES:
            param["description"] = _PARAM_NOTES[kind]
        params.append(param)
    if not count:
        if spec.sort_by:
            params.append({"name": "sortBy", "in": "query", "required": False,
                           "schema": {"type": "string", "enum": sorted(spec.sort_by)},
                           "description": "Sort key; needs `sortOrder`."})
            params.append({"name": "sortOrder", "in": "query", "required": False,
                           "schema": {"type": "string", "enum": list(SORT_ORDERS)},
                           "description": "Sort order; needs `sortBy`."})
        params.extend(paging_parameters())
    return params


def unsupported_note(spec: QuerySpec) -> str:
    """Operation description naming the Camunda filters that answer 400 (contract 5.1)."""
    names = sorted(spec.unsupported - {"orQueries"})
    if not names:
        return ""
    return ("Camunda filters Baton does not implement answer `400 Unsupported query parameter` when given "
            "a value other than `false`: " + ", ".join(f"`{n}`" for n in names) + ".")


class QueryBodySchema(Schema):
    """Base of the generated POST query bodies: unknown members are ignored (contract 1.3)."""

    class Meta:
        unknown = EXCLUDE


class VariableQueryParameterSchema(QueryBodySchema):
    name = fields.String(required=True)
    operator = fields.String(required=True, validate=validate.OneOf(VARIABLE_OPERATORS))
    value = fields.Raw(allow_none=True, metadata={"description": "A string, number, boolean or null."})


def _body_field(kind: str) -> fields.Field:
    """The POST body member of a filter kind; ``null`` always means absent (contract 1.3)."""
    if kind == "str":
        return fields.String(allow_none=True)
    if kind == "str_list":
        return fields.List(fields.String(), allow_none=True)
    if kind in ("bool", "true_only"):
        return fields.Boolean(allow_none=True)
    if kind == "int":
        return fields.Integer(allow_none=True, metadata={"format": "int32"})
    if kind == "date":
        return fields.String(allow_none=True, metadata={"pattern": DATE_INPUT_PATTERN, "description": _DATE_NOTE})
    return fields.List(fields.Nested(VariableQueryParameterSchema), allow_none=True)  # variables


def query_body_schema(spec: QuerySpec, name: str, *, overrides: dict[str, fields.Field] | None = None,
                      ) -> type[Schema]:
    """A marshmallow schema (component ``name``) documenting the POST body of ``spec``'s query.

    ``overrides`` replaces or adds members whose wire form is not a filter kind (e.g. a
    ``variableValue`` of any JSON type).
    """
    members: dict[str, Any] = {filter_name: _body_field(kind) for filter_name, kind in spec.filters.items()}
    members.update(overrides or {})
    sort_enum = validate.OneOf(sorted(spec.sort_by))
    order_enum = validate.OneOf(list(SORT_ORDERS))
    sorting = QueryBodySchema.from_dict({"sortBy": fields.String(validate=sort_enum),
                                "sortOrder": fields.String(validate=order_enum)}, name=f"{name}Sorting")
    or_member = dict(members)  # an OR group: filters only, no sorting, no nesting
    if spec.or_queries:
        members["orQueries"] = fields.List(fields.Nested(QueryBodySchema.from_dict(or_member, name=f"{name}Or")),
                                           allow_none=True)
    if spec.sort_by:
        members["sortBy"] = fields.String(allow_none=True, validate=sort_enum)
        members["sortOrder"] = fields.String(allow_none=True, validate=order_enum)
        members["sorting"] = fields.List(fields.Nested(sorting), allow_none=True,
                                         metadata={"description": "A single object is accepted too."})
    QUERY_BODY_SCHEMAS.add(name)
    return QueryBodySchema.from_dict(members, name=f"{name}Schema")


# --- the plugin --------------------------------------------------------------------------------

_WRITE_METHODS = {"post", "put", "delete", "patch"}


class CamundaDocPlugin(BasePlugin):
    """Adds the error responses to every operation and ``required`` to response schemas."""

    def init_spec(self, spec: APISpec) -> None:
        self.spec = spec

    @staticmethod
    def error_statuses(path: str, method: str, operation: dict[str, Any]) -> list[int]:
        """Which errors an operation can answer (on top of any it documents itself).

        401, 414 (from the HTTP server) and 500 always; 403 when the call needs a permission
        claim; 400 when the request carries any input beyond path ids, or writes; 404 when the
        path has ids; 409 for writes (optimistic locking of instances, batches and jobs); 413
        when it takes a body.
        """
        statuses = [401, 414, 500]
        if camunda_permission(method.upper(), path) is not None:
            statuses.append(403)
        takes_input = bool(operation.get("parameters")) or "requestBody" in operation
        if takes_input or method in _WRITE_METHODS:
            statuses.append(400)
        if "{" in path:
            statuses.append(404)
        if method in _WRITE_METHODS and not _is_query(operation):
            statuses.append(409)
        if "requestBody" in operation:
            statuses.append(413)
        return sorted(statuses)

    def operation_helper(self, path: str | None = None, operations: dict[str, Any] | None = None,
                         **kwargs: Any) -> None:
        for method, operation in (operations or {}).items():
            responses = operation.setdefault("responses", {})
            responses.pop("default", None)  # flask-smorest's generic error shape is not Camunda's
            for status in self.error_statuses(path or "", method, operation):
                if status not in responses and str(status) not in responses:
                    # A component name: apispec turns it into a $ref.
                    responses[status] = URI_TOO_LONG if status == 414 else ERROR_RESPONSES[status][0]

    def schema_helper(self, name: str, definition: dict[str, Any], **kwargs: Any) -> dict[str, Any] | None:
        schema = kwargs.get("schema")
        cls = schema if isinstance(schema, type) else type(schema)
        if not (isinstance(cls, type) and issubclass(cls, ResponseSchema)):
            return None
        names = [n for n in definition.get("properties", {}) if n not in cls.optional_members]
        return {"required": names} if names else None


def _is_query(operation: dict[str, Any]) -> bool:
    body = operation.get("requestBody", {})
    for media in body.get("content", {}).values():
        schema = media.get("schema")
        ref = schema.get("$ref", "") if isinstance(schema, dict) else ""
        if ref.rsplit("/", 1)[-1] in QUERY_BODY_SCHEMAS:
            return True
    return False


# --- small builders for ``@blp.doc`` ----------------------------------------------------------


def request_body(schema: Any, description: str | None = None) -> dict[str, Any]:
    """An optional JSON request body (an empty body counts as ``{}``, contract 1.3)."""
    body: dict[str, Any] = {"required": False, "content": {"application/json": {"schema": schema}}}
    if description:
        body["description"] = description
    return body


def ref(component: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{component}"}


def map_of(component: str) -> dict[str, Any]:
    """A JSON object whose values are ``component`` (variable maps)."""
    return {"type": "object", "additionalProperties": ref(component)}


def list_doc(spec: QuerySpec, body: type[Schema] | None = None) -> dict[str, Any]:
    """``@blp.doc`` arguments of a list query: GET parameters, or POST paging + body."""
    doc: dict[str, Any] = {}
    note = unsupported_note(spec)
    if note:
        doc["description"] = note
    if body is None:
        doc["parameters"] = query_parameters(spec)
    else:
        doc["parameters"] = paging_parameters()
        doc["requestBody"] = request_body(body)
    return doc


def count_doc(spec: QuerySpec, body: type[Schema] | None = None) -> dict[str, Any]:
    """``@blp.doc`` arguments of a count query (filters only)."""
    doc: dict[str, Any] = {}
    note = unsupported_note(spec)
    if note:
        doc["description"] = note
    if body is None:
        doc["parameters"] = query_parameters(spec, count=True)
    else:
        doc["requestBody"] = request_body(body)
    return doc
