"""What people read from the marts: each org's plain-language summary, and its charts as
metadata in the Dagster UI."""

import dagster as dg

from analytics_pipeline.defs.keys import SUMMARIES_KEY
from analytics_pipeline.defs.resources import PostgresResource
from analytics_pipeline.marts import MARTS
from analytics_pipeline.reports.charts import markdown, org_charts
from analytics_pipeline.reports.summaries import refresh_summaries

# Charts are per-org metadata entries; past this many orgs, `analytics-pipeline report` serves.
MAX_CHARTED_ORGS = 25


@dg.asset(
    key=SUMMARIES_KEY,
    deps=[dg.AssetKey(name) for name in MARTS],
    group_name="reports",
    description="marts.org_summaries: each org's plain-language summary of marts.org_insights.",
)
def org_summaries(database: PostgresResource):
    with database.connect() as conn:
        insights = refresh_summaries(conn)
        charts = {i["org_id"]: markdown(org_charts(conn, i["org_id"])) for i in insights[:MAX_CHARTED_ORGS]}
    table = "\n".join(
        ["| org | active 7d | completion | summary |", "| --- | ---: | ---: | --- |"]
        + [f"| {i['org_id']} | {i['active_learners_7d']} | {i['completion_rate']} | {i['summary']} |" for i in insights]
    )
    fresh = max((i["data_fresh_as_of"] for i in insights if i["data_fresh_as_of"]), default=None)
    return dg.MaterializeResult(
        metadata={
            "orgs": len(insights),
            "data_fresh_as_of": fresh.isoformat() if fresh else "no data",
            "summaries": dg.MetadataValue.md(table),
            **{f"charts_{org}": dg.MetadataValue.md(chart) for org, chart in charts.items()},
        }
    )
