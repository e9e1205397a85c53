"""Every problem+json answer follows one scheme: type .../problems/<slug>, title the slug."""

from __future__ import annotations

import inspect
import json
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from certsvc import errors
from certsvc.api.problems import PROBLEM_BASE, SLUGS, for_error
from certsvc.errors import CertsvcError
from tests.integration.api.conftest import bearer

SAMPLE_ARGS: dict[type[CertsvcError], tuple[object, ...]] = {
    errors.NotFound: ("certificate", "00AB"),
    errors.StillPending: ("still running", 5),
    errors.MaintenanceWindow: (datetime(2026, 12, 1, 20, tzinfo=UTC),),
}


def every_error() -> list[CertsvcError]:
    kinds = [
        kind
        for _name, kind in inspect.getmembers(errors, inspect.isclass)
        if issubclass(kind, CertsvcError)
    ]
    assert len(kinds) >= 18  # the whole tree of certsvc/errors.py, not a hand-picked few
    return [kind(*SAMPLE_ARGS.get(kind, ("went wrong",))) for kind in kinds]  # type: ignore[arg-type]


def test_every_error_class_maps_to_one_type_and_title_per_slug() -> None:
    seen: dict[str, tuple[str, int]] = {}
    for error in every_error():
        body = for_error(error).body
        problem = json.loads(bytes(body))
        slug = problem["title"]
        assert slug in SLUGS, type(error).__name__
        assert problem["type"] == f"{PROBLEM_BASE}{slug}"
        assert seen.setdefault(slug, (problem["type"], problem["status"])) == (
            problem["type"],
            problem["status"],
        ), f"{type(error).__name__}: slug {slug} with another type or status"
        assert problem["status"] != 500 or type(error) in (errors.ConfigError, CertsvcError), slug
    assert seen["not-found"][1] == 404
    assert seen["gateway-error"][1] == 502


def test_answers_over_http_use_the_scheme(api: TestClient, tokens: dict[str, str]) -> None:
    answers = [
        api.get("/api/v1/no-such-route"),
        api.get("/api/v1/certificates"),  # no token: 401
        api.get("/api/v1/certificates/00FF", headers=bearer(tokens["helpdesk"])),
        api.post("/api/v1/certificates", json={}, headers=bearer(tokens["helpdesk"])),
        api.get("/api/v1/tenants", headers=bearer(tokens["gateway"])),
        api.get("/gateway/allowlist"),
    ]
    for answer in answers:
        assert answer.headers["content-type"] == "application/problem+json", answer.text
        problem = answer.json()
        assert problem["type"] == PROBLEM_BASE + problem["title"], problem
        assert problem["title"] in SLUGS
    assert [answer.status_code for answer in answers[:5]] == [404, 401, 404, 422, 403]
