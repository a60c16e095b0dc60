"""A completion chart and a drop-off funnel per org, from the marts.

The same figures render two ways: markdown bars (asset metadata in the Dagster UI shows
markdown, not scripts) and inline SVG for the HTML report, which must open offline.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from itertools import groupby

import psycopg
from psycopg.rows import dict_row

from analytics_pipeline.db.sqlfiles import load_sql

BAR_WIDTH = 20


@dataclass(frozen=True)
class OrgCharts:
    org: str
    completion: list[dict]  # label, enrolled_learners, completed_learners, rate
    # course title -> lesson_position, learners_started, learners_continued, and reach: the
    # share of the first lesson's starters who started this one
    funnels: dict[str, list[dict]]


def org_charts(conn: psycopg.Connection, org: str) -> OrgCharts:
    with conn.cursor(row_factory=dict_row) as cur:
        completion = cur.execute(load_sql("report/org_completion"), {"org": org}).fetchall()
        dropoff = cur.execute(load_sql("report/org_dropoff"), {"org": org}).fetchall()
    funnels = {title: _with_reach(list(rows)) for title, rows in groupby(dropoff, key=lambda r: r["course_title"])}
    return OrgCharts(org, completion, funnels)


def _with_reach(steps: list[dict]) -> list[dict]:
    first = max(steps[0]["learners_started"], 1)
    return [{**step, "reach": step["learners_started"] / first} for step in steps]


def _bar(fraction: float) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * BAR_WIDTH)
    return "█" * filled + "░" * (BAR_WIDTH - filled)


def markdown(charts: OrgCharts) -> str:
    lines = [
        f"### {charts.org}: course completion",
        "",
        "| course | completion | | completed / enrolled |",
        "| --- | --- | ---: | ---: |",
    ]
    lines += [
        f"| {r['label']} | `{_bar(r['rate'])}` | {r['rate']:.0%} | {r['completed_learners']} / "
        f"{r['enrolled_learners']} |"
        for r in charts.completion
    ]
    for title, steps in charts.funnels.items():
        lines += [
            "",
            f"### {charts.org}: drop-off funnel, {title}",
            "",
            "| lesson | learners | | started |",
            "| --- | --- | ---: | ---: |",
        ]
        lines += [
            f"| {s['lesson_position']} | `{_bar(s['reach'])}` | {s['reach']:.0%} | {s['learners_started']} |"
            for s in steps
        ]
    return "\n".join(lines)


def _svg_bars(rows: list[tuple[str, float, str]]) -> str:
    """Horizontal bars: (label, fraction 0..1, text shown after the bar)."""
    height = 26 * len(rows) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="640" height="{height}" role="img">']
    for i, (label, fraction, text) in enumerate(rows):
        y = 8 + 26 * i
        width = 360 * max(0.0, min(1.0, fraction))
        parts.append(
            f'<text x="0" y="{y + 14}" font-size="13">{html.escape(label[:28])}</text>'
            f'<rect x="190" y="{y}" width="360" height="18" fill="#eef1f5"/>'
            f'<rect x="190" y="{y}" width="{width:.1f}" height="18" fill="#3b6fd8"/>'
            f'<text x="558" y="{y + 14}" font-size="13">{html.escape(text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def html_page(charts: OrgCharts, fresh_as_of: str) -> str:
    sections = [
        "<h2>Course completion</h2>",
        _svg_bars(
            [
                (r["label"], r["rate"], f"{r['rate']:.0%} ({r['completed_learners']}/{r['enrolled_learners']})")
                for r in charts.completion
            ]
        ),
    ]
    for title, steps in charts.funnels.items():
        sections += [
            f"<h2>Drop-off funnel: {html.escape(title)}</h2>",
            _svg_bars([(f"lesson {s['lesson_position']}", s["reach"], str(s["learners_started"])) for s in steps]),
        ]
    org = html.escape(charts.org)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Learning report: {org}</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2em;color:#1d2330}</style></head><body>"
        f"<h1>Learning report: {org}</h1><p>Data fresh as of {html.escape(fresh_as_of)}.</p>"
        + "".join(sections)
        + "</body></html>"
    )
