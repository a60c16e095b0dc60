"""The web app probed as an attacker of a multi-tenant service would, on a real server on
loopback after a real pipeline run: the roles a credential may name, sessions, cross-site
posts, spreadsheet formulas in exports, caching and transport headers, guessing, and client
input that used to be a 500."""

from __future__ import annotations

import base64
import http.server
import io
import json
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from functools import partial

import jwt
import pandas as pd
import psycopg
import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from analytics_pipeline.access.credentials import (
    MAX_TOKEN_LIFETIME,
    create_token,
    create_write_key,
    parse_lifetime,
    revoke_token,
)
from analytics_pipeline.access.export import export_mart
from analytics_pipeline.access.grants import ensure_role
from analytics_pipeline.config import JwtSettings
from scripts.chromium import chromium, chromium_binaries
from tests.conftest import free_port, run_cli
from tests.web_helpers import JWT_SECRET, bearer, web_server

ANALYTICS = "/api/admin/analytics"


@pytest.fixture(scope="module")
def app(platform):
    roles = platform["roles"]
    with psycopg.connect(platform["url"], autocommit=True) as conn:
        tokens = {name: create_token(conn, roles[name]).token for name in ("tenant_a", "tenant_b", "platform")}
        key = create_write_key(conn, "org_1 browser", "org_1").key
    with web_server(platform["landing"], platform["url"], jwt=JwtSettings(hs256_secret=JWT_SECRET)) as base:
        yield {**platform, "base": base, "tokens": tokens, "key": key}


def signed(claims: dict) -> str:
    return jwt.encode({"exp": datetime.now(UTC) + timedelta(minutes=5), **claims}, JWT_SECRET, algorithm="HS256")


def sign_in(base: str, token: str, session: requests.Session | None = None, **headers) -> requests.Response:
    session = session or requests.Session()
    return session.post(base + "/login", data={"token": token}, headers=headers, allow_redirects=False, timeout=10)


# --- only roles made by `access create-role` can be named ------------------------------------


@pytest.mark.parametrize("role", ["analytics_platform_admin", "analytics_tenant", "analytics_web", "postgres"])
def test_a_jwt_naming_a_group_or_system_role_gets_nothing(app, role):
    answer = requests.get(
        app["base"] + ANALYTICS, params={"organization_id": "org_1"}, headers=bearer(signed({"role": role})), timeout=10
    )
    assert answer.status_code == 401 and "may not act as" in answer.json()["error"]
    assert sign_in(app["base"], signed({"role": role})).status_code == 401


def test_a_jwt_naming_a_role_made_by_create_role_gets_in(app):
    answer = requests.get(
        app["base"] + ANALYTICS,
        params={"organization_id": "org_1"},
        headers=bearer(signed({"role": app["roles"]["tenant_a"]})),
        timeout=10,
    )
    assert answer.status_code == 200


@pytest.mark.parametrize("role", ["analytics_platform_admin", "analytics_tenant", "analytics_web", "pg_monitor"])
def test_no_token_can_be_minted_for_a_group_or_system_role(app, role):
    with psycopg.connect(app["url"], autocommit=True) as conn, pytest.raises(ValueError, match="access create-role"):
        create_token(conn, role)
    with psycopg.connect(app["url"], autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM access.api_tokens WHERE role_name = %s", (role,)).fetchone()[0] == 0


def test_create_role_checks_before_it_grants(app):
    with psycopg.connect(app["url"], autocommit=True) as conn:
        owner = conn.execute("SELECT current_user").fetchone()[0]
        for role in (owner, "analytics_web", "analytics_tenant", "pg_read_all_data", "bad name"):
            with pytest.raises(ValueError):
                ensure_role(conn, role)
        members = conn.execute(
            "SELECT r.rolname FROM pg_auth_members AS m JOIN pg_roles AS r ON r.oid = m.member"
            " JOIN pg_roles AS g ON g.oid = m.roleid WHERE g.rolname IN ('analytics_tenant', 'analytics_platform_admin')"
        ).fetchall()
        assert (owner,) not in members and ("analytics_web",) not in members
        assert not conn.execute("SELECT web.may_act_as(%s)", (owner,)).fetchone()[0]


def test_the_cli_refuses_a_group_role_for_a_token_and_an_export(app, tmp_path, monkeypatch):
    monkeypatch.setenv("ANALYTICS_DATABASE_URL", app["url"])
    minted = run_cli("access", "token", "create", "--role", "analytics_platform_admin")
    assert minted.returncode == 2 and "access create-role" in minted.stderr, minted.stderr
    made = run_cli("access", "create-role", "--role", "postgres")
    assert made.returncode == 2
    with pytest.raises(ValueError, match="access create-role"):
        export_mart(app["url"], "view_course_completion_rate", "org_1", tmp_path / "x.csv", role="analytics_tenant")


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("0d", "a lifetime is a positive number"),
        ("forever", "a lifetime is a positive number"),
        ("367d", "366 days at most"),
        ("53w", "366 days at most"),
        ("99999999d", "366 days at most"),
    ],
)
def test_a_token_lifetime_past_a_year_or_not_a_lifetime_is_refused(text, complaint):
    with pytest.raises(ValueError, match=complaint):
        parse_lifetime(text)


def test_a_token_lifetime_is_its_number_of_units():
    assert [parse_lifetime(text) for text in ("90m", "12h", "30d", "2w", "366d")] == [
        timedelta(minutes=90),
        timedelta(hours=12),
        timedelta(days=30),
        timedelta(weeks=2),
        MAX_TOKEN_LIFETIME,
    ]


# --- sessions --------------------------------------------------------------------------------


def test_the_cookie_is_an_opaque_session_and_sign_out_ends_it(app):
    browser = requests.Session()
    signed_in = sign_in(app["base"], app["tokens"]["tenant_a"], browser)
    assert signed_in.status_code == 303
    cookie = browser.cookies["analytics_session"]
    assert cookie != app["tokens"]["tenant_a"] and app["tokens"]["tenant_a"] not in signed_in.headers["set-cookie"]
    with psycopg.connect(app["url"]) as conn:
        stored = conn.execute("SELECT session_hash::text, credential FROM access.dashboard_sessions").fetchall()
    assert stored and all(cookie not in text and "apt_" not in text for row in stored for text in row)
    reads = browser.get(app["base"] + ANALYTICS, params={"organization_id": "org_1"}, timeout=10)
    assert reads.status_code == 200
    assert browser.post(app["base"] + "/logout", allow_redirects=False, timeout=10).status_code == 303
    stolen = requests.get(
        app["base"] + ANALYTICS,
        params={"organization_id": "org_1"},
        cookies={"analytics_session": cookie},
        timeout=10,
    )
    assert stolen.status_code == 401 and "session has ended" in stolen.json()["error"]
    page = requests.get(app["base"] + "/", cookies={"analytics_session": cookie}, allow_redirects=False, timeout=10)
    assert page.status_code == 303 and page.headers["location"].endswith("/login")


def test_revoking_the_token_ends_its_sessions_at_once(app):
    with psycopg.connect(app["url"], autocommit=True) as conn:
        token = create_token(conn, app["roles"]["tenant_a"])
    browser = requests.Session()
    assert sign_in(app["base"], token.token, browser).status_code == 303
    assert browser.get(app["base"] + "/", allow_redirects=False, timeout=10).status_code == 200
    with psycopg.connect(app["url"], autocommit=True) as conn:
        revoke_token(conn, token.token_id)
    assert browser.get(app["base"] + "/", allow_redirects=False, timeout=10).status_code == 303
    assert browser.get(app["base"] + ANALYTICS, params={"organization_id": "org_1"}, timeout=10).status_code == 401


def test_an_idle_or_expired_session_redirects_to_sign_in(app):
    with web_server(app["landing"], app["url"], session_idle_seconds=1) as base:
        browser = requests.Session()
        assert sign_in(base, app["tokens"]["tenant_a"], browser).status_code == 303
        assert browser.get(base + "/", allow_redirects=False, timeout=10).status_code == 200
        time.sleep(2.5)
        idle = browser.get(base + "/", allow_redirects=False, timeout=10)
        assert idle.status_code == 303 and idle.headers["location"].endswith("/login")
    with web_server(app["landing"], app["url"], session_max_seconds=2) as base:
        browser = requests.Session()
        assert sign_in(base, app["tokens"]["tenant_a"], browser).status_code == 303
        # The cookie as sent back, whatever the browser's own expiry would do with it.
        cookie = {"analytics_session": browser.cookies["analytics_session"]}
        for _ in range(3):  # in use all along, yet ended at its absolute lifetime
            assert requests.get(base + "/", cookies=cookie, allow_redirects=False, timeout=10).status_code == 200
            time.sleep(0.4)
        time.sleep(1.5)
        assert requests.get(base + "/", cookies=cookie, allow_redirects=False, timeout=10).status_code == 303


def test_the_cookie_is_secure_and_hsts_sent_when_the_public_url_is_https(app):
    plain = sign_in(app["base"], app["tokens"]["tenant_a"])
    assert "secure" not in plain.headers["set-cookie"].lower()
    assert "strict-transport-security" not in plain.headers
    with web_server(app["landing"], app["url"], public_url="https://analytics.example.org") as base:
        behind_tls = sign_in(base, app["tokens"]["tenant_a"])
        assert "; secure" in behind_tls.headers["set-cookie"].lower()
        assert behind_tls.headers["strict-transport-security"].startswith("max-age=")
        assert requests.get(base + "/api/health", timeout=10).headers["strict-transport-security"]


def test_failed_sign_ins_from_one_client_are_slowed(app):
    with web_server(app["landing"], app["url"], failed_sign_in_limit=3) as base:
        for _ in range(3):
            assert sign_in(base, "apt_000000000000_" + "x" * 43).status_code == 401
        slowed = sign_in(base, app["tokens"]["tenant_a"])  # even a good token waits now
        assert slowed.status_code == 429 and int(slowed.headers["retry-after"]) > 0
        guessed = requests.get(
            base + ANALYTICS, params={"organization_id": "org_1"}, headers=bearer("x.y.z"), timeout=10
        )
        assert guessed.status_code == 429


# --- cross-site posts --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}],
)
def test_sign_in_and_out_refuse_posts_from_other_sites(app, headers):
    refused = sign_in(app["base"], app["tokens"]["tenant_b"], **headers)
    assert refused.status_code == 403 and "cross-site" in refused.json()["error"]
    assert "set-cookie" not in refused.headers
    out = requests.post(app["base"] + "/logout", headers=headers, allow_redirects=False, timeout=10)
    assert out.status_code == 403


def test_same_site_sign_in_still_works(app):
    own = app["base"]
    assert sign_in(own, app["tokens"]["tenant_a"], Origin=own).status_code == 303
    assert sign_in(own, app["tokens"]["tenant_a"], **{"Sec-Fetch-Site": "same-origin"}).status_code == 303


@pytest.mark.skipif(chromium_binaries() is None and not os.environ.get("CI"), reason="Debian's chromium is needed")
def test_a_form_on_another_site_cannot_swap_or_end_an_admins_session_in_chromium(app, tmp_path):
    """Signed in as org_1's tenant; a page on another origin auto-posts org_2's token to
    /login, and another auto-posts /logout. Both are refused; the session stays org_1's."""
    app_base = app["base"]
    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "swap.html").write_text(
        f'<form id="f" method="post" action="{app_base}/login">'
        f'<input name="token" value="{app["tokens"]["tenant_b"]}"></form>'
        '<script>document.getElementById("f").submit()</script>'
    )
    (evil / "out.html").write_text(
        f'<form id="f" method="post" action="{app_base}/logout"></form>'
        '<script>document.getElementById("f").submit()</script>'
    )
    port = free_port()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(evil))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with chromium(window="1000,800") as driver:
            driver.get(app_base + "/login")
            driver.find_element(By.ID, "token").send_keys(app["tokens"]["tenant_a"])
            driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
            WebDriverWait(driver, 20).until(lambda d: d.get_cookie("analytics_session") is not None)
            before = driver.get_cookie("analytics_session")["value"]
            for page in ("swap.html", "out.html"):  # localhost is another site than 127.0.0.1
                driver.get(f"http://localhost:{port}/{page}")
                WebDriverWait(driver, 20).until(lambda d: "cross-site" in d.page_source)
            driver.get(app_base + ANALYTICS + "/organizations")
            orgs = json.loads(driver.find_element(By.TAG_NAME, "body").text)["organizations"]
            assert [o["organization_id"] for o in orgs] == ["org_1"]
            assert driver.get_cookie("analytics_session")["value"] == before
    finally:
        server.shutdown()


# --- exports are safe in a spreadsheet; private answers are not cached -----------------------


FORMULAS = ['=HYPERLINK("http://evil.example","click")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def test_formula_cells_are_neutralised_in_every_export(app, tmp_path):
    with psycopg.connect(app["url"], autocommit=True) as conn:
        course, title = conn.execute(
            "SELECT course_id, course_title FROM marts.view_course_completion_rate WHERE org_id = 'org_1'"
            " ORDER BY course_id LIMIT 1"
        ).fetchone()
        item = conn.execute(
            "SELECT course_id, lesson_id, question_id FROM marts.quiz_item_difficulty WHERE org_id = 'org_1' LIMIT 1"
        ).fetchone()
        conn.execute(
            "UPDATE marts.view_course_completion_rate SET course_title = %s WHERE course_id = %s", (FORMULAS[0], course)
        )
        conn.execute(
            "UPDATE marts.quiz_item_difficulty SET question_id = %s"
            " WHERE org_id = 'org_1' AND course_id = %s AND lesson_id = %s AND question_id = %s",
            (FORMULAS[1], *item),
        )
    try:
        exported = {}
        for dataset in ("completion", "quiz_items"):
            answer = requests.get(
                app["base"] + ANALYTICS + "/export",
                params={"organization_id": "org_1", "dataset": dataset},
                headers=bearer(app["tokens"]["tenant_a"]),
                timeout=30,
            )
            assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
            exported[dataset] = pd.read_csv(io.StringIO(answer.text), keep_default_na=False)
        assert "'" + FORMULAS[0] in set(exported["completion"].title)
        assert "'" + FORMULAS[1] in set(exported["quiz_items"].question_id)
        assert not any(
            str(v).startswith(("=", "+", "@")) for frame in exported.values() for v in frame.to_numpy().ravel()
        )
        export_mart(app["url"], "view_course_completion_rate", "org_1", tmp_path / "cli.csv")
        cli = pd.read_csv(tmp_path / "cli.csv", keep_default_na=False)
        assert "'" + FORMULAS[0] in set(cli.course_title)
        # Numbers stay numbers: a negative figure is not a formula.
        assert pd.api.types.is_numeric_dtype(cli.completion_rate)
    finally:
        with psycopg.connect(app["url"], autocommit=True) as conn:
            conn.execute(
                "UPDATE marts.view_course_completion_rate SET course_title = %s WHERE course_id = %s", (title, course)
            )
            conn.execute(
                "UPDATE marts.quiz_item_difficulty SET question_id = %s WHERE question_id = %s", (item[2], FORMULAS[1])
            )


def test_admin_json_is_never_cached(app):
    answer = requests.get(
        app["base"] + ANALYTICS,
        params={"organization_id": "org_1"},
        headers=bearer(app["tokens"]["tenant_a"]),
        timeout=10,
    )
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    refused = requests.get(app["base"] + ANALYTICS, params={"organization_id": "org_1"}, timeout=10)
    assert refused.headers["cache-control"] == "no-store"


# --- client input that used to be a 500 -------------------------------------------------------


def _jwt_with_header(header: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part({'role': 'x', 'exp': 4102444800})}.c2ln"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", ANALYTICS + "/surveys/responses?organization_id=x&offset=%C2%B2", {}, 400),
        ("GET", ANALYTICS + "/surveys/responses?organization_id=x&limit=%D9%A3", {}, 400),
        ("GET", ANALYTICS + "?organization_id=x%00", {}, 400),
        ("GET", ANALYTICS + "?organization_id=org_1", {"headers": bearer(_jwt_with_header({"alg": ["HS256"]}))}, 401),
        ("GET", ANALYTICS + "?organization_id=org_1", {"headers": bearer(_jwt_with_header({"alg": None}))}, 401),
        ("GET", ANALYTICS + "?organization_id=org_1", {"headers": bearer(_jwt_with_header({"alg": {"a": 1}}))}, 401),
        ("DELETE", "/api/admin/learners/%00", {}, 400),
        ("DELETE", "/api/admin/learners/u1?organization_id=x%00", {}, 400),
        ("POST", "/login", {"data": {"token": _jwt_with_header({"alg": ["HS256"]})}}, 401),
    ],
)
def test_inputs_that_were_a_500_get_a_4xx_with_a_reason(app, method, path, kwargs, status):
    answer = requests.request(method, app["base"] + path, timeout=10, allow_redirects=False, **kwargs)
    assert answer.status_code == status, answer.text
    if path != "/login":
        assert answer.json()["error"]


def nested(depth: int) -> str:
    """A JSON object `depth` levels deep, as text (JSON encoders refuse to write one so deep)."""
    return '{"x":' * depth + "1" + "}" * depth


@pytest.mark.parametrize("depth", [40, 254, 300, 1000])
def test_a_deeply_nested_event_fails_alone_and_is_counted_as_answered(app, depth):
    good = {
        "clientEventId": "3f0c4a1e-0000-4000-8000-0000000000aa",
        "eventType": "course_started",
        "occurredAt": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
        "userId": "u_nested",
        "courseId": "course_1",
    }
    deep = json.dumps({**good, "clientEventId": "3f0c4a1e-0000-4000-8000-0000000000ab", "properties": 0})
    deep = deep.replace('"properties": 0', f'"properties": {nested(depth)}')
    answer = requests.post(
        app["base"] + "/api/analytics/events/batch",
        data=f'{{"events": [{deep}, {json.dumps(good)}]}}',
        headers={**bearer(app["key"]), "Content-Type": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["accepted"] + body["duplicates"] == [good["clientEventId"]]
    assert [f["clientEventId"] for f in body["failed"]] == ["3f0c4a1e-0000-4000-8000-0000000000ab"]
    assert "nested deeper" in body["failed"][0]["reason"]
    metrics = requests.get(app["base"] + "/metrics", timeout=10).text
    assert 'collector_batch_requests_total{status="500"}' not in metrics


@pytest.mark.parametrize("depth", [40, 300])
def test_a_deeply_nested_statement_is_a_400(app, depth):
    key = base64.b64encode(f"{app['key']}:".encode()).decode()
    body = (
        '{"actor": {"mbox": "mailto:a@example.org"}, "verb": {"id": "http://adlnet.gov/expapi/verbs/launched"},'
        f' "object": {{"id": "urn:x:y", "definition": {{"extensions": {{"urn:deep": {nested(depth)}}}}}}}}}'
    )
    answer = requests.post(
        app["base"] + "/xAPI/statements",
        data=body,
        headers={
            "Authorization": f"Basic {key}",
            "X-Experience-API-Version": "1.0.3",
            "Content-Type": "application/json",
        },
        timeout=10,
    )
    assert answer.status_code == 400 and "nested deeper" in answer.json()["error"]
