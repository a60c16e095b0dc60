"""Demo sign-ins: a role and a token for each demo org (with the org-admin grant, so survey
free text shows too) and one for a platform admin, printed at the end of `make demo`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import psycopg

from analytics_pipeline.access.credentials import create_token
from analytics_pipeline.access.grants import ensure_role, grant

DEMO_LIFETIME = timedelta(days=7)
PLATFORM_ROLE = "demo_platform_admin"


@dataclass(frozen=True)
class DemoSignIn:
    who: str
    role: str
    token: str


def demo_sign_ins(conn: psycopg.Connection) -> list[DemoSignIn]:
    sign_ins = []
    for org_id, name in conn.execute("SELECT org_id, name FROM raw.organizations ORDER BY org_id").fetchall():
        role = f"demo_{org_id}"
        ensure_role(conn, role)
        grant(conn, role, org_id, "org_admin")
        sign_ins.append(
            DemoSignIn(f"{name} ({org_id}) admin", role, create_token(conn, role, DEMO_LIFETIME, "demo").token)
        )
    ensure_role(conn, PLATFORM_ROLE, platform_admin=True)
    sign_ins.append(
        DemoSignIn(
            "platform admin (every org)", PLATFORM_ROLE, create_token(conn, PLATFORM_ROLE, DEMO_LIFETIME, "demo").token
        )
    )
    return sign_ins
