"""Deviations from the xAPI specification that real producers emit, and how each is read.

The platform is an analytics sink for real LMSs first, a conformant LRS second: a statement
that breaks the specification only in one of these known ways is repaired, then checked and
mapped like any other (docs/xapi.md, "Repairs"). Each rule names the producer it is for.
"""

from __future__ import annotations

import copy
from typing import Any

from analytics_pipeline.ingestion.xapi.statements import is_iri

CONTEXT_LISTS = ("parent", "grouping", "category", "other")


def _group_activity_as_activity(activity: Any) -> bool:
    """Open edX sends a multi-question problem as a `GroupActivity` (no such object type
    exists): it is the problem, an Activity."""
    if isinstance(activity, dict) and activity.get("objectType") == "GroupActivity":
        activity["objectType"] = "Activity"
        return True
    return False


def _context_lists(statement: dict) -> dict:
    context = statement.get("context")
    listed = context.get("contextActivities") if isinstance(context, dict) else None
    return listed if isinstance(listed, dict) else {}


def repair(value: Any) -> tuple[Any, list[str]]:
    """The statement with every known deviation repaired (a copy; `value` is left as it
    came), and the names of the rules applied."""
    if not isinstance(value, dict):
        return value, []
    statement, applied = copy.deepcopy(value), []
    if _group_activity_as_activity(statement.get("object")):
        applied.append("group_activity")
    for name, listed in _context_lists(statement).items():
        if name not in CONTEXT_LISTS or not isinstance(listed, list | dict):
            continue
        activities = listed if isinstance(listed, list) else [listed]
        if any([_group_activity_as_activity(a) for a in activities]):
            applied.append("group_activity")
        # Open edX's special exams group by their attempt, named by a bare UUID: a grouping
        # that is no activity says nothing the platform reads, so it is left out.
        kept = [a for a in activities if not isinstance(a, dict) or is_iri(a.get("id"))]
        if len(kept) < len(activities):
            _context_lists(statement)[name] = kept
            applied.append("non_iri_activity")
    result = statement.get("result")
    score = result.get("score") if isinstance(result, dict) else None
    if isinstance(score, dict):
        low, high = score.get("min"), score.get("max")
        numbers = all(isinstance(n, int | float) and not isinstance(n, bool) for n in (low, high))
        # Open edX scores a problem worth nothing as 0 out of 0: there is no score, and its
        # `success` still says whether it was answered right.
        if numbers and high <= low:
            del result["score"]
            applied.append("empty_score_range")
    return statement, sorted(set(applied))
