"""The OpenAPI document: generated from the app's URL map (every route appears), served with a
reference page that needs nothing from outside, and true to what the server answers, which
schemathesis checks by calling the live server with generated requests."""

from __future__ import annotations

import re
import threading
import time
from typing import TYPE_CHECKING, Any

import hypothesis
import trio

from pytake.web import create_app
from pytake.web._openapi import build_document
from pytake.web._permissions import DECLARED, ROLE_PERMISSIONS, Open, Permission

from ._support import admin_headers, serving

if TYPE_CHECKING:
    from pytake.engine import Engine

#: Generated requests per operation: enough to reach past the first refusals of each route,
#: few enough that the whole run stays near a minute on a small machine.
EXAMPLES_PER_OPERATION = 12
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance")


def _operations(app: Any) -> set[tuple[str, str]]:
    """(method, OpenAPI path) of every HTTP route in the app's URL map but the web app's
    files (HTML and scripts, not the API: tests/test_first_run.py covers them)."""
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.websocket or rule.endpoint in ("static", "app_files.app_file"):
            continue
        path = re.sub(r"<(?:\w+(?:\(.*?\))?:)?(\w+)>", r"{\1}", rule.rule)
        found |= {(m.lower(), path) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return found


async def test_the_document_lists_every_route_with_who_may_call_it(engine: Engine) -> None:
    app = create_app(engine)
    async with serving(app) as client:
        response = await client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"] == "3.1.0"
    listed = {(m, p) for p, item in document["paths"].items() for m in item}
    assert listed == _operations(app)
    assert len(listed) >= 40
    for path, item in document["paths"].items():
        for method, operation in item.items():
            rule_view = _view_of(app, method, path)
            declared = getattr(rule_view, DECLARED)
            assert operation["summary"], (method, path)
            if isinstance(declared, Permission):
                assert operation["security"] == [{"bearer": []}], (method, path)
                assert sorted(operation["x-roles"]) == sorted(
                    str(r) for r in ROLE_PERMISSIONS if declared in ROLE_PERMISSIONS[r])
                assert {"401", "403"} <= set(operation["responses"]), (method, path)
            else:
                assert isinstance(declared, Open)
                assert "bearer" not in str(operation["security"]), (method, path)
            for status, answer in operation["responses"].items():
                if int(status) >= 400:
                    assert answer["content"] == {"application/problem+json": {
                        "schema": {"$ref": "#/components/schemas/Problem"}}}, (method, path)
            if "{" in path:
                names = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
                assert names == set(re.findall(r"{(\w+)}", path)), (method, path)
    teams = document["paths"]["/api/v1/teams"]["get"]
    assert {"cursor", "limit"} <= {p["name"] for p in teams["parameters"]}
    assert "next_cursor" in teams["responses"]["200"]["content"]["application/json"][
        "schema"]["properties"]
    assert document["paths"]["/api/v1/openapi.json"]["get"]["security"] == []


def _view_of(app: Any, method: str, path: str) -> Any:
    for rule in app.url_map.iter_rules():
        if re.sub(r"<(?:\w+(?:\(.*?\))?:)?(\w+)>", r"{\1}", rule.rule) == path and (
                method.upper() in rule.methods and not rule.websocket):
            return app.view_functions[rule.endpoint]
    raise AssertionError(f"no rule for {method} {path}")


async def test_a_route_added_later_appears_without_being_described(engine: Engine) -> None:
    app = create_app(engine)

    @app.get("/api/v1/added-later/<int:thing_id>")
    async def added_later(thing_id: int) -> dict[str, int]:
        """Something a later change adds."""
        return {"id": thing_id}

    operation = build_document(app)["paths"]["/api/v1/added-later/{thing_id}"]["get"]
    assert operation["summary"] == "Something a later change adds."
    assert operation["parameters"][0]["schema"]["type"] == "integer"
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["type"] \
        == "object"


async def test_the_reference_page_works_offline_under_its_policy(engine: Engine) -> None:
    async with serving(create_app(engine)) as client:
        page = await client.get("/api/v1/docs")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        html = page.text
        # No inline script, nothing from another host.
        assert re.findall(r"<script[^>]*>(.*?)</script>", html, re.S) == [""]
        assert "http://" not in html and "https://" not in html
        for asset, kind in (("reference.js", "javascript"), ("reference.css", "css")):
            assert f'"docs/{asset}"' in html
            answer = await client.get(f"/api/v1/docs/{asset}")
            assert answer.status_code == 200 and kind in answer.headers["content-type"]
            assert "https://" not in answer.text
        script = (await client.get("/api/v1/docs/reference.js")).text
        assert "openapi.json" in script and "innerHTML" not in script


def _fuzz(document: dict[str, Any], base_url: str,
          headers: dict[str, str]) -> tuple[int, list[str]]:
    """Run schemathesis over every operation of ``document`` against ``base_url``; return
    how many cases ran and the failures (each failure once, by operation and check)."""
    import schemathesis
    from schemathesis.core.failures import FailureGroup
    from schemathesis.specs.openapi import checks as openapi_checks

    schema = schemathesis.openapi.from_dict(document)
    checks = [schemathesis.checks.not_a_server_error] + [
        getattr(openapi_checks, name) for name in CHECKS[1:]]
    ran = 0
    failures: dict[str, str] = {}
    lock = threading.Lock()
    def check(operation: Any) -> None:
        @hypothesis.settings(
            max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
            derandomize=True, phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        @hypothesis.given(case=operation.as_strategy())
        def run(case: Any) -> None:
            nonlocal ran
            response = case.call(base_url=base_url, headers=headers, timeout=30)
            with lock:
                ran += 1
            try:
                case.validate_response(response, checks=checks, headers=headers)
            except FailureGroup as group:
                # Recorded, not raised: shrinking every failure would cost minutes, and the
                # report below names each one with the request that found it.
                for failure in group.exceptions:
                    key = f"{operation.label}: {failure.title}"
                    failures.setdefault(key, f"{key}: {failure.message[:300]}\n  "
                                             f"{response.status_code} {response.text[:300]}\n"
                                             f"  {case.as_curl_command(headers=headers)}")

        run()

    for result in schema.get_all_operations():
        check(result.ok())
    return ran, list(failures.values())


async def test_schemathesis_finds_no_server_error_and_no_answer_that_breaks_the_schema(
    engine: Engine,
) -> None:
    app = create_app(engine)
    headers = await admin_headers(engine)
    async with serving(app) as client:
        document = (await client.get("/api/v1/openapi.json")).json()
        started = time.monotonic()
        # The generated requests are blocking calls: a worker thread makes them while this
        # event loop serves them.
        ran, failures = await trio.to_thread.run_sync(
            _fuzz, document, str(client.base_url), headers)
        took = time.monotonic() - started
    print(f"schemathesis: {ran} cases over {len(_operations(app))} operations in {took:.0f} s, "
          f"{len(failures)} failures")
    assert failures == [], "\n".join(failures)
    assert ran >= len(_operations(app))
