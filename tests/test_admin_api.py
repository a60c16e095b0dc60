"""The admin analytics API on a real server on loopback, after a real pipeline run: figures
against the marts and an independent pandas computation, who may see what, and every bad
request answered with a reason."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import jwt
import pandas as pd
import psycopg
import pytest
import requests

from analytics_pipeline.access.credentials import create_token, revoke_token
from analytics_pipeline.access.grants import grant, revoke
from analytics_pipeline.config import JwtSettings
from analytics_pipeline.web.admin_queries import DATASETS
from analytics_pipeline.web.app import create_app
from analytics_pipeline.web.config import web_database_url
from tests.expected_metrics import expected_engagement, expected_marts, expected_surveys
from tests.web_helpers import JWT_SECRET, bearer, get, web_config_for, web_server

ANALYTICS = "/api/admin/analytics"


@pytest.fixture(scope="module")
def api(platform):
    roles = platform["roles"]
    with psycopg.connect(platform["url"], autocommit=True) as conn:
        tokens = {name: create_token(conn, role).token for name, role in roles.items()}
        expired = create_token(conn, roles["tenant_a"])
        conn.execute(
            "UPDATE access.api_tokens SET expires_at = now() - interval '1 minute' WHERE token_id = %s",
            (expired.token_id,),
        )
        revoked = create_token(conn, roles["tenant_a"])
        revoke_token(conn, revoked.token_id)
    with web_server(platform["landing"], platform["url"], jwt=JwtSettings(hs256_secret=JWT_SECRET)) as base:
        yield {**platform, "base": base, "tokens": tokens, "expired": expired.token, "revoked": revoked.token}


def mart(url: str, query: str, *params) -> pd.DataFrame:
    with psycopg.connect(url) as conn:
        cur = conn.execute(query, params)
        return pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])


def analytics(api, org: str, token: str | None = None, **params) -> requests.Response:
    return get(api["base"], ANALYTICS, token or api["tokens"]["platform"], params={"organization_id": org, **params})


@pytest.mark.parametrize("org", ["org_1", "org_2", "org_3"])
def test_every_figure_equals_the_marts_and_an_independent_computation(api, org):
    doc = analytics(api, org).json()
    completion, dropoff, _ = expected_marts(api["landing"])
    courses = pd.DataFrame(doc["courses"])
    exp = completion[completion.org_id == org].merge(courses, on="course_id", suffixes=("_exp", "_api"))
    assert len(exp) == len(courses) == (completion.org_id == org).sum() > 0
    assert (exp.enrolled_learners_exp == exp.enrolled_learners_api).all()
    assert (exp.completed_learners_exp == exp.completed_learners_api).all()
    assert ((exp.completion_rate_exp - exp.completion_rate_api).abs() < 1e-6).all()
    stored = mart(
        api["url"],
        "SELECT course_id, course_title, completion_rate FROM marts.view_course_completion_rate WHERE org_id = %s",
        org,
    )
    assert dict(zip(stored.course_id, stored.course_title)) == dict(zip(courses.course_id, courses.title))

    steps = pd.DataFrame(doc["dropoff"])
    exp = dropoff[dropoff.org_id == org].merge(steps, on=["course_id", "lesson_id"], suffixes=("_exp", "_api"))
    assert len(exp) == len(steps) == (dropoff.org_id == org).sum() > 0
    assert (exp.learners_started_exp == exp.learners_started_api).all()
    assert (exp.learners_continued_exp == exp.learners_continued_api).all()
    assert (exp.lesson_position_exp == exp.lesson_position_api).all()

    days = pd.DataFrame(doc["engagement"])
    days["activity_date"] = pd.to_datetime(days.activity_date).dt.date
    engagement = expected_engagement(api["landing"])
    exp = engagement[engagement.org_id == org].merge(days, on="activity_date", suffixes=("_exp", "_api"))
    assert len(exp) == len(days) == (engagement.org_id == org).sum() > 0
    assert (exp.active_learners_exp == exp.active_learners_api).all()
    assert (exp.events_exp == exp.events_api).all()

    surveys = expected_surveys(api["landing"]).set_index("org_id").loc[org]
    assert doc["surveys"]["responses"] == surveys.responses > 0
    assert abs(doc["surveys"]["average_rating"] - surveys.average_rating) < 1e-4
    assert {int(k): v for k, v in doc["surveys"]["ratings"].items()} == {
        k: int(surveys.get(f"rating_{k}", 0)) for k in range(1, 6)
    }

    insights = mart(api["url"], "SELECT summary, data_fresh_as_of FROM marts.org_summaries WHERE org_id = %s", org)
    assert doc["summary"] == insights.summary[0] and doc["organization_id"] == org
    fresh = mart(api["url"], "SELECT max(data_fresh_as_of) AS fresh FROM marts.org_engagement_daily").fresh[0]
    assert datetime.fromisoformat(doc["data_fresh_as_of"]) == fresh
    # Everything ingested is reflected: not stale, whatever its age.
    assert doc["stale"] is False and doc["newer_data_waiting"] is False


def test_filters_narrow_the_rows(api):
    full = analytics(api, "org_1").json()
    course = full["courses"][0]["course_id"]
    one = analytics(api, "org_1", course_id=course).json()
    assert [c["course_id"] for c in one["courses"]] == [course]
    assert {s["course_id"] for s in one["dropoff"]} == {course}
    assert one["dropoff"] == [s for s in full["dropoff"] if s["course_id"] == course]
    days = sorted(d["activity_date"] for d in full["engagement"])
    ranged = analytics(api, "org_1", **{"from": days[1], "to": days[-2]}).json()
    assert [d["activity_date"] for d in ranged["engagement"]] == days[1:-1]


def test_the_learning_document_returns_the_learning_marts_of_the_callers_org(api):
    token = api["tokens"]["tenant_b"]
    doc = get(api["base"], ANALYTICS + "/learning", token, params={"organization_id": "org_2"}).json()
    marts = {
        "at_risk": ("learners_at_risk", ["course_id", "user_token"]),
        "video": ("video_engagement", ["course_id", "lesson_id", "segment"]),
        "quiz_items": ("quiz_item_difficulty", ["course_id", "lesson_id", "question_id"]),
        "time_on_task": ("course_time_on_task_daily", ["course_id", "activity_date"]),
        "retention": ("org_retention_weekly", ["week_start"]),
    }
    for dataset, (name, key) in marts.items():
        stored = mart(api["url"], f"SELECT * FROM marts.{name} WHERE org_id = 'org_2'")
        got = pd.DataFrame(doc[dataset])
        assert len(got) == len(stored) > 0, dataset
        for column in key:
            got[column], stored[column] = got[column].astype(str), stored[column].astype(str)
        merged = got.merge(stored, on=key, suffixes=("", "_mart"))
        assert len(merged) == len(got), dataset
        numbers = [c for c in got.columns if c not in key and pd.api.types.is_numeric_dtype(got[c])]
        for column in numbers:
            assert ((merged[column] - merged[f"{column}_mart"].astype(float)).abs().fillna(0) < 1e-9).all(), column
    ranks = [{"high": 0, "medium": 1, "low": 2}[r["risk_level"]] for r in doc["at_risk"]]
    assert ranks == sorted(ranks), "riskiest first"
    course = doc["video"][0]["course_id"]
    one = get(api["base"], ANALYTICS + "/learning", token, params={"organization_id": "org_2", "course_id": course})
    assert {r["course_id"] for r in one.json()["video"]} == {course}
    assert one.json()["at_risk"] == [r for r in doc["at_risk"] if r["course_id"] == course]
    other = get(api["base"], ANALYTICS + "/learning", token, params={"organization_id": "org_1"})
    assert other.status_code == 403


def test_a_tenant_sees_only_its_orgs(api):
    tokens = api["tokens"]
    listed = get(api["base"], ANALYTICS + "/organizations", tokens["tenant_a"]).json()["organizations"]
    assert [o["organization_id"] for o in listed] == ["org_1"] and listed[0]["name"]
    everyone = get(api["base"], ANALYTICS + "/organizations", tokens["platform"]).json()["organizations"]
    assert {o["organization_id"] for o in everyone} == {"org_1", "org_2", "org_3"}
    assert get(api["base"], ANALYTICS + "/organizations", tokens["nobody"]).json()["organizations"] == []
    assert analytics(api, "org_1", tokens["tenant_a"]).status_code == 200
    for org in ("org_2", "org_3", "no_such_org"):
        answer = analytics(api, org, tokens["tenant_a"])
        assert answer.status_code == 403 and org in answer.json()["error"]
    assert analytics(api, "org_1", tokens["nobody"]).status_code == 403
    assert analytics(api, "no_such_org").status_code == 404  # the platform admin may look; nothing is there


@pytest.mark.parametrize(
    "path",
    [
        ANALYTICS,
        ANALYTICS + "/summary",
        ANALYTICS + "/learning",
        ANALYTICS + "/export?dataset=completion",
        ANALYTICS + "/surveys/responses",
        ANALYTICS + "/organizations",
    ],
)
def test_no_bad_or_stale_token_gets_in(api, path):
    base, url = api["base"], api["base"] + path + ("&" if "?" in path else "?") + "organization_id=org_1"
    forged = api["tokens"]["tenant_a"][:-4] + "AAAA"
    for headers in (
        {},
        bearer("nonsense"),
        bearer(forged),
        bearer(api["expired"]),
        bearer(api["revoked"]),
        {"Authorization": "Basic dXNlcjpwYXNz"},
        bearer("a.b.c"),
    ):
        answer = requests.get(url, headers=headers, timeout=30)
        assert answer.status_code == 401, (headers, answer.text)
        assert answer.json()["error"] and answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert "expired" in requests.get(url, headers=bearer(api["expired"]), timeout=30).json()["error"]
    assert "revoked" in requests.get(url, headers=bearer(api["revoked"]), timeout=30).json()["error"]
    assert requests.get(base + path.split("?")[0], timeout=30).status_code in (400, 401)


def test_tricks_change_nothing(api):
    base, token = api["base"], api["tokens"]["tenant_a"]
    for header in ("X-Org-Id", "X-Organization-Id"):
        spoofed = get(base, ANALYTICS, token, params={"organization_id": "org_2"}, headers={header: "org_1"})
        assert spoofed.status_code == 403
        own = get(base, ANALYTICS, token, params={"organization_id": "org_1"}, headers={header: "org_2"})
        assert own.status_code == 200 and {c["org_id"] for c in own.json()["courses"]} == {"org_1"}
    twice = requests.get(
        f"{base}{ANALYTICS}?organization_id=org_1&organization_id=org_2", headers=bearer(token), timeout=30
    )
    assert twice.status_code == 400 and "once" in twice.json()["error"]
    for course in ("x' OR '1'='1", "course_1'; DROP TABLE marts.view_lesson_dropoff; --"):
        injected = get(base, ANALYTICS, token, params={"organization_id": "org_1", "course_id": course})
        assert injected.status_code == 404
    injected_org = get(base, ANALYTICS, token, params={"organization_id": "org_1' OR '1'='1"})
    assert injected_org.status_code == 403
    other_orgs_course = mart(
        api["url"],
        "SELECT course_id FROM marts.view_course_completion_rate WHERE org_id = 'org_2' "
        "EXCEPT SELECT course_id FROM marts.view_course_completion_rate WHERE org_id = 'org_1'",
    )
    for course in other_orgs_course.course_id:
        assert get(base, ANALYTICS, token, params={"organization_id": "org_1", "course_id": course}).status_code == 404
    assert mart(api["url"], "SELECT count(*) AS n FROM marts.view_lesson_dropoff").n[0] > 0


def test_survey_free_text_needs_an_org_admin_grant(api):
    base, tokens = api["base"], api["tokens"]
    path = ANALYTICS + "/surveys/responses"
    assert get(base, path, tokens["tenant_a"], params={"organization_id": "org_1"}).status_code == 403
    assert get(base, path, tokens["admin_a"], params={"organization_id": "org_2"}).status_code == 403
    answer = get(base, path, tokens["admin_a"], params={"organization_id": "org_1", "limit": "1000"})
    assert answer.status_code == 200
    stored = mart(
        api["url"], "SELECT client_event_id::text AS id, free_text FROM raw.survey_free_text WHERE org_id = 'org_1'"
    )
    got = {r["client_event_id"]: r["free_text"] for r in answer.json()["responses"]}
    assert got == dict(zip(stored.id, stored.free_text)) and got
    assert "@" not in "".join(got.values())  # scrubbed at ingestion


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_the_csv_export_equals_the_json_rows(api, dataset):
    params = {"organization_id": "org_2", "dataset": dataset}
    answer = get(api["base"], ANALYTICS + "/export", api["tokens"]["tenant_b"], params=params)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"] == f'attachment; filename="org_2-{dataset}.csv"'
    exported = pd.read_csv(io.StringIO(answer.text))
    doc = analytics(api, "org_2", api["tokens"]["tenant_b"]).json()
    learning = get(api["base"], ANALYTICS + "/learning", api["tokens"]["tenant_b"], params={"organization_id": "org_2"})
    rows = {
        "completion": doc["courses"],
        "dropoff": doc["dropoff"],
        "engagement": doc["engagement"],
        "surveys": doc["surveys"]["courses"],
        **learning.json(),
    }[dataset]
    expected = pd.DataFrame(rows)
    assert list(exported.columns) == list(expected.columns) and len(exported) == len(expected) > 0
    for column in expected.columns:
        left, right = exported[column], expected[column]
        if column.endswith("_at"):  # JSON's ISO 8601 and PostgreSQL's text for the same instant
            instants = pd.to_datetime(left, utc=True, format="ISO8601"), pd.to_datetime(right, utc=True)
            assert instants[0].equals(instants[1]), column
        elif isinstance(right.iloc[0], list):  # a PostgreSQL array: {a,b} in CSV
            assert (left.fillna("{}") == right.map(lambda items: "{" + ",".join(items) + "}")).all(), column
        elif pd.api.types.is_numeric_dtype(right):
            assert ((left - right).abs().fillna(0) < 1e-9).all(), column
        else:
            assert (left.fillna("").astype(str) == right.fillna("").astype(str)).all(), column
    assert set(exported.org_id) == {"org_2"}
    denied = get(
        api["base"], ANALYTICS + "/export", api["tokens"]["tenant_b"], params={**params, "organization_id": "org_1"}
    )
    assert denied.status_code == 403


def test_lms_signed_jwts_name_the_role(api):
    roles, now = api["roles"], datetime.now(UTC)

    def signed(claims: dict, key: str = JWT_SECRET) -> str:
        return jwt.encode({"exp": now + timedelta(minutes=5), "sub": "lms", **claims}, key, algorithm="HS256")

    assert analytics(api, "org_2", signed({"role": roles["tenant_b"]})).status_code == 200
    assert analytics(api, "org_1", signed({"role": roles["tenant_b"]})).status_code == 403
    for token in (
        signed({"role": roles["tenant_b"]}, "another-secret-of-the-same-length!!"),
        signed({"role": roles["tenant_b"], "exp": now - timedelta(minutes=1)}),
        signed({}),
        signed({"role": "postgres"}),
        signed({"role": "analytics_web"}),
        jwt.encode({"role": roles["platform"], "exp": now + timedelta(minutes=5)}, None, algorithm="none"),
    ):
        answer = analytics(api, "org_2", token)
        assert answer.status_code == 401, answer.text


def test_the_web_login_role_reads_nothing_by_itself(api):
    with psycopg.connect(web_database_url(api["url"]), autocommit=True) as conn:
        for table in (
            "marts.view_course_completion_rate",
            "marts.org_insights",
            "marts.org_summaries",
            "access.api_tokens",
            "raw.analytics_events",
            "raw.survey_free_text",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT 1 FROM {table} LIMIT 1")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SET ROLE postgres")


@pytest.mark.parametrize(
    "params, reason",
    [
        ({}, "organization_id is required: this caller may see org_"),
        ({"organization_id": "org_1", "from": "yesterday"}, "from must be a date"),
        ({"organization_id": "org_1", "to": "2026-02-30"}, "to must be a date"),
        ({"organization_id": "org_1", "from": "2026-04-05", "to": "2026-04-01"}, "from is after to"),
        ({"organization_id": "x" * 500}, "over 200 characters"),
    ],
)
def test_bad_requests_get_400_with_a_reason(api, params, reason):
    answer = get(api["base"], ANALYTICS, api["tokens"]["platform"], params=params)
    assert answer.status_code == 400 and reason in answer.json()["error"]
    if not params:  # the platform admin may see every org: the answer names them all
        assert all(org in answer.json()["error"] for org in ("org_1", "org_2", "org_3"))


def test_a_caller_who_may_see_one_org_gets_it_by_default(api):
    alone = get(api["base"], ANALYTICS, api["tokens"]["tenant_a"])
    assert alone.status_code == 200 and alone.json()["organization_id"] == "org_1"
    named = get(api["base"], ANALYTICS, api["tokens"]["tenant_a"], params={"organization_id": "org_1"})
    assert alone.json()["courses"] == named.json()["courses"]
    learning = get(api["base"], ANALYTICS + "/learning", api["tokens"]["tenant_b"])
    assert learning.status_code == 200 and learning.json()["organization_id"] == "org_2"
    nobody = get(api["base"], ANALYTICS, api["tokens"]["nobody"])
    assert nobody.status_code == 403


def test_the_overview_lists_each_visible_org_with_its_own_figures(api):
    overview = get(api["base"], ANALYTICS + "/overview", api["tokens"]["platform"])
    assert overview.status_code == 200
    rows = {row["organization_id"]: row for row in overview.json()["organizations"]}
    assert sorted(rows) == ["org_1", "org_2", "org_3"]
    completion, _, _ = expected_marts(api["landing"])
    for org, row in rows.items():
        doc = analytics(api, org).json()
        mine = completion[completion.org_id == org]
        assert (
            row["enrolled_learners"]
            == sum(c["enrolled_learners"] for c in doc["courses"])
            == mine.enrolled_learners.sum()
        )
        assert row["completed_learners"] == sum(c["completed_learners"] for c in doc["courses"])
        assert row["data_fresh_as_of"] is not None and row["dashboard"] == f"/?organization_id={org}"
        learning = get(api["base"], ANALYTICS + "/learning", api["tokens"]["platform"], params={"organization_id": org})
        at_risk = learning.json()["at_risk"]
        assert row["at_risk_learners"] == sum(r["risk_level"] in ("high", "medium") for r in at_risk)
        assert row["high_risk_learners"] == sum(r["risk_level"] == "high" for r in at_risk)
    tenant = get(api["base"], ANALYTICS + "/overview", api["tokens"]["tenant_a"]).json()["organizations"]
    assert [row["organization_id"] for row in tenant] == ["org_1"]


def test_bad_export_and_paging_parameters(api):
    token, base = api["tokens"]["admin_a"], api["base"]
    bad = get(base, ANALYTICS + "/export", token, params={"organization_id": "org_1", "dataset": "passwords"})
    assert bad.status_code == 400 and "dataset must be one of" in bad.json()["error"]
    paged = get(base, ANALYTICS + "/surveys/responses", token, params={"organization_id": "org_1", "limit": "-1"})
    assert paged.status_code == 400
    assert requests.post(base + ANALYTICS, headers=bearer(token), timeout=30).status_code == 405
    assert get(base, "/api/admin/nothing-here", token).status_code == 404


def test_the_openapi_document_describes_every_admin_route(api):
    spec = requests.get(api["base"] + "/api/admin/openapi.json", timeout=30).json()
    app = create_app(web_config_for(api["landing"], api["url"]))
    app_paths = {route.path for route in app.routes if route.path.startswith("/api/admin")}
    assert set(spec["paths"]) == app_paths
    page = requests.get(api["base"] + "/api/admin/docs", timeout=30)
    assert page.status_code == 200 and all(path in page.text for path in spec["paths"])


def test_rs256_tokens_from_the_lms_public_key(api):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    lms_key, stranger = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
    public_pem = (
        lms_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    claims = {
        "role": api["roles"]["tenant_b"],
        "aud": "analytics",
        "exp": datetime.now(UTC) + timedelta(minutes=5),
    }
    settings = JwtSettings(rs256_public_key=public_pem, audience="analytics")
    with web_server(api["landing"], api["url"], parts=("admin",), jwt=settings) as base:

        def ask(token: str) -> int:
            return get(base, ANALYTICS, token, params={"organization_id": "org_2"}).status_code

        assert ask(jwt.encode(claims, lms_key, algorithm="RS256")) == 200
        assert ask(jwt.encode(claims, stranger, algorithm="RS256")) == 401
        assert ask(jwt.encode({**claims, "aud": "another-service"}, lms_key, algorithm="RS256")) == 401
        # An HS256 token "signed" with the public key must not pass as RS256 (algorithm confusion).
        assert ask(jwt.encode(claims, JWT_SECRET, algorithm="HS256")) == 401


@pytest.mark.parametrize(
    "path",
    [
        ANALYTICS,
        ANALYTICS + "/summary",
        ANALYTICS + "/learning",
        ANALYTICS + "/export",
        ANALYTICS + "/surveys/responses",
        ANALYTICS + "/organizations",
    ],
)
def test_nothing_a_client_sends_gets_a_500(api, path):
    token = api["tokens"]["admin_a"]
    odd = [
        "\x00",
        "%00",
        "org_1\x00",
        "\u2028",
        "' OR 1=1 --",
        "org_1;",
        "☃" * 50,
        "-1",
        "9" * 30,
        "null",
        "2026-13-45",
        "../../etc/passwd",
    ]
    for value in odd:
        for name in ("organization_id", "course_id", "from", "to", "dataset", "limit", "offset"):
            params = {"organization_id": "org_1", "dataset": "completion", name: value}
            answer = get(api["base"], path, token, params=params)
            assert answer.status_code < 500, (name, value, answer.status_code, answer.text[:200])
            if answer.status_code >= 400:
                assert answer.json()["error"]
    raw = requests.get(f"{api['base']}{path}?organization_id=%FF%FE&course_id=%C3", headers=bearer(token), timeout=30)
    assert raw.status_code < 500


def test_before_the_first_build_the_api_says_so(tmp_path, migrated_db):
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        from analytics_pipeline.access.grants import ensure_role, grant

        role = f"early_{tmp_path.name[-8:]}".lower().replace("-", "_")
        ensure_role(conn, role)
        grant(conn, role, "org_1")
        token = create_token(conn, role).token
    with web_server(tmp_path, migrated_db, parts=("admin",)) as base:
        answer = get(base, ANALYTICS, token, params={"organization_id": "org_1"})
        assert answer.status_code == 503 and "not built yet" in answer.json()["error"]
        assert get(base, ANALYTICS + "/organizations", token).status_code == 503


def test_a_reused_document_is_still_refused_once_the_grant_is_gone(api):
    """The API reuses a role's rendered document for a few seconds, but PostgreSQL decides
    access on every request: a revoked grant is 403 at once, and another role never gets the
    first role's document."""
    role, figures = api["roles"]["tenant_a"], ("courses", "dropoff", "engagement", "surveys", "summary")
    first = analytics(api, "org_1", api["tokens"]["tenant_a"])
    again = analytics(api, "org_1", api["tokens"]["tenant_a"])
    assert first.status_code == again.status_code == 200
    assert [again.json()[k] for k in figures] == [first.json()[k] for k in figures]
    assert analytics(api, "org_1", api["tokens"]["tenant_b"]).status_code == 403
    with psycopg.connect(api["url"], autocommit=True) as conn:
        revoke(conn, role, "org_1")
        try:
            refused = analytics(api, "org_1", api["tokens"]["tenant_a"])
            assert refused.status_code == 403 and "org_1" in refused.json()["error"]
        finally:
            grant(conn, role, "org_1")
    restored = analytics(api, "org_1", api["tokens"]["tenant_a"]).json()
    assert [restored[k] for k in figures] == [first.json()[k] for k in figures]


def test_courses_and_lessons_are_named_by_their_titles_everywhere(api):
    import csv

    reference = api["landing"] / "reference"
    with (reference / "courses.csv").open(newline="") as handle:
        courses = {row["course_id"]: row["title"] for row in csv.DictReader(handle)}
    with (reference / "lessons.csv").open(newline="") as handle:
        lessons = {row["lesson_id"]: row["title"] for row in csv.DictReader(handle)}
    token = api["tokens"]["tenant_a"]
    learning = get(api["base"], ANALYTICS + "/learning?organization_id=org_1", token).json()
    overview = get(api["base"], ANALYTICS + "?organization_id=org_1", token).json()
    datasets = {name: learning[name] for name in ("at_risk", "video", "quiz_items", "time_on_task")}
    datasets.update(dropoff=overview["dropoff"], surveys=overview["surveys"]["courses"])
    for name, rows in datasets.items():
        assert rows, name
        for row in rows:
            assert row["course_title"] == courses[row["course_id"]], (name, row)
            if "lesson_id" in row:
                assert row["lesson_title"] == lessons[row["lesson_id"]], (name, row)
    export = get(api["base"], ANALYTICS + "/export?organization_id=org_1&dataset=quiz_items", token).text
    exported = list(csv.DictReader(io.StringIO(export)))
    assert exported and all(row["lesson_title"] == lessons[row["lesson_id"]] for row in exported)
    # The summary names courses and lessons by title, never by id.
    summary = overview["summary"]
    assert any(title in summary for title in courses.values())
    assert not any(course_id in summary for course_id in courses)
