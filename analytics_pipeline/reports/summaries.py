"""The plain-language summary of each org's insights (marts.org_insights), for admins to read
at a glance; the figures themselves are defined and tested in dbt."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

from analytics_pipeline.db.sqlfiles import load_sql


def _pct(value) -> str:
    return f"{float(value) * 100:.0f}%"


def summarize(row: dict[str, Any], titles: dict[str, str] | None = None) -> str:
    """A few sentences an org admin can read at a glance, courses and lessons by their titles
    (`titles`: id -> title, from the snapshots), by id where the snapshot gives none."""
    titles = titles or {}

    def title(item_id: str) -> str:
        return titles.get(item_id) or item_id

    name = row["org_name"] or row["org_id"]
    parts = [
        f"{name}: {row['active_learners_7d']} learners active in the last 7 days ({row['active_learners_30d']} in 30)."
    ]
    if row["completion_rate"] is not None:
        parts.append(
            f"{row['completed_learners']} of {row['enrolled_learners']} enrollments completed "
            f"({_pct(row['completion_rate'])})."
        )
    else:
        parts.append("No enrollments yet.")
    if row["top_dropoff_rate"] is not None:
        parts.append(
            f"Biggest drop-off: lesson {row['top_dropoff_lesson_position']} "
            f'"{row["top_dropoff_lesson_title"]}" of {title(row["top_dropoff_course_id"])}, where '
            f"{_pct(row['top_dropoff_rate'])} of learners stop."
        )
    if row["at_risk_learners"]:
        parts.append(
            f"{row['at_risk_learners']} learners at risk of not finishing ({row['high_risk_learners']} high risk)."
        )
    if row["weakest_segment"] is not None:
        parts.append(
            f'Weakest video segment: part {row["weakest_segment"]}/10 of "{title(row["weakest_segment_lesson_id"])}" '
            f"({title(row['weakest_segment_course_id'])}), reached by {_pct(row['weakest_segment_reach_rate'])} "
            "of the learners who played it."
        )
    if row["suspicious_item_question_id"] is not None:
        hard = row["suspicious_item_flag"] == "too_hard"
        parts.append(
            f"Quiz item to check: {row['suspicious_item_question_id']} of "
            f'"{title(row["suspicious_item_lesson_id"])}", '
            f"right first time for {_pct(row['suspicious_item_first_attempt_correct_rate'])} of learners "
            f"({'too hard or wrongly keyed' if hard else 'too easy'})."
        )
    if row["quiz_pass_rate"] is not None:
        parts.append(f"Quiz pass rate {_pct(row['quiz_pass_rate'])}.")
    if row["survey_avg_rating"] is not None:
        parts.append(
            f"Average survey rating {float(row['survey_avg_rating']):.1f}/5 over {row['survey_responses']} responses."
        )
    return " ".join(parts)


def refresh_summaries(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Write every org's summary from the insights mart, replacing the table in one
    transaction; returns the insights rows with their summaries."""
    with conn.transaction():
        with conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute("SELECT * FROM marts.org_insights ORDER BY org_id").fetchall()
        titles = dict(conn.execute(load_sql("report/titles")).fetchall())
        for row in rows:
            row["summary"] = summarize(row, titles)
        conn.execute("DELETE FROM marts.org_summaries")
        with conn.cursor() as cur:
            cur.executemany(load_sql("report/insert_summary"), rows)
    return rows
