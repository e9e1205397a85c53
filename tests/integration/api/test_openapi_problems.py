"""``/openapi.json`` declares the problem+json errors every route really answers with."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

PROBLEM = "application/problem+json"


def _error_responses(schema: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    responses: dict[str, Any] = schema["paths"][path][method]["responses"]
    return {code: each for code, each in responses.items() if code[:1] in ("4", "5")}


def test_problem_schema_has_the_rfc_9457_fields(api: TestClient) -> None:
    schema = api.get("/openapi.json").json()
    problem = schema["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert problem["properties"]["status"]["type"] == "integer"


def test_every_operation_declares_its_errors_as_problem_json(api: TestClient) -> None:
    schema = api.get("/openapi.json").json()
    operations = [(path, method) for path, methods in schema["paths"].items() for method in methods]
    assert len(operations) > 10
    for path, method in operations:
        errors = _error_responses(schema, path, method)
        assert {"4XX", "5XX"} <= set(errors), (path, method)
        for code, response in errors.items():
            content = response["content"]
            assert list(content) == [PROBLEM], (path, method, code)
            assert content[PROBLEM]["schema"]["$ref"] == "#/components/schemas/Problem"


def test_validation_error_is_documented_as_what_it_answers(api: TestClient) -> None:
    schema = api.get("/openapi.json").json()
    posting = [
        (path, "post")
        for path, methods in schema["paths"].items()
        if "requestBody" in methods.get("post", {}) and "{" not in path
    ]
    declared = [_error_responses(schema, *each).get("422") for each in posting]
    assert any(declared), "no POST route declares its 422"
    answer = api.post(
        posting[0][0], content=b"{not json", headers={"content-type": "application/json"}
    )
    assert answer.status_code >= 400
    assert answer.headers["content-type"] == PROBLEM
    assert {"type", "title", "status", "detail"} <= set(answer.json())
