"""Requests that made Baton answer 500 when fuzzed (tests/fuzz/test_fuzz_camunda.py); each must be a 400."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.mark.parametrize("body", [
    {"sortOrder": [[""]]},
    {"sortBy": ["id"], "sortOrder": "asc"},
    {"sorting": [{"sortBy": {"a": 1}, "sortOrder": "asc"}]},
    {"sorting": [{"sortBy": "id", "sortOrder": ["asc"]}]},
])
@pytest.mark.parametrize("path", ["/engine-rest/job-definition", "/engine-rest/task",
                                  "/engine-rest/history/process-instance"])
def test_non_string_sort_members_are_a_400(client: Any, path: str, body: dict[str, Any]) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["type"] == "InvalidRequestException"
    assert "parameter has invalid value" in response.get_json()["message"]
