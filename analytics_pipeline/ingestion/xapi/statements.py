"""The shape of an xAPI statement (xAPI 1.0.3 and 2.0.0, part two: Data), checked as the
statements resource of a Learning Record Store checks it before storing anything.

`check_statement` raises `InvalidStatement` naming the first property that breaks the
specification, as a path (`context.contextActivities.parent[0].id`). What a statement means
for this platform (its verb, its activity) is not judged here: a valid statement with a verb
the mapping does not know is still stored, and dead-lettered later (`mapping.py`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime
from typing import Any

import orjson

_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SHA1 = re.compile(r"^[0-9a-fA-F]{40}$")
_MAILTO = re.compile(r"^mailto:[^@\s]+@\S+$")
_ANY_STRING = re.compile(r"")
_VERSION = re.compile(r"^(1\.0(\.\d+)?|2\.0\.0)$")
_NUMBER = r"\d+(?:\.\d+)?"
_DURATION = re.compile(
    rf"^P(?!$)(?:{_NUMBER}Y)?(?:{_NUMBER}M)?(?:{_NUMBER}W)?(?:{_NUMBER}D)?"
    rf"(?:T(?=\d)(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?$"
)
_STATEMENT = {
    "id",
    "actor",
    "verb",
    "object",
    "result",
    "context",
    "timestamp",
    "stored",
    "authority",
    "version",
    "attachments",
}
_SUB_STATEMENT = {"objectType", "actor", "verb", "object", "result", "context", "timestamp", "attachments"}
_AGENT = {"objectType", "name", "mbox", "mbox_sha1sum", "openid", "account"}
_IDENTIFIERS = ("mbox", "mbox_sha1sum", "openid", "account")
_CONTEXT = {
    "registration",
    "instructor",
    "team",
    "contextActivities",
    "contextAgents",
    "contextGroups",
    "revision",
    "platform",
    "language",
    "statement",
    "extensions",
}
_CONTEXT_ACTIVITIES = {"parent", "grouping", "category", "other"}
_DEFINITION = {
    "name",
    "description",
    "type",
    "moreInfo",
    "extensions",
    "interactionType",
    "correctResponsesPattern",
    "choices",
    "scale",
    "source",
    "target",
    "steps",
}
# Properties the LRS sets itself: two statements differing only in these are the same statement.
LRS_PROPERTIES = ("stored", "authority", "version")


class InvalidStatement(ValueError):
    pass


def _fail(where: str, message: str) -> InvalidStatement:
    return InvalidStatement(f"{where}: {message}" if where else message)


def _object(value: Any, where: str, allowed: set[str]) -> dict:
    if not isinstance(value, dict):
        raise _fail(where, "must be a JSON object")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise _fail(where, f"has a property the specification does not define: {unknown[0]!r}")
    return value


def _required(value: dict, name: str, where: str) -> Any:
    if name not in value:
        raise _fail(where, f"missing required property {name!r}")
    return value[name]


def _path(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _string(container: dict, name: str, where: str, pattern: re.Pattern = _ANY_STRING, what: str = "a string") -> None:
    """`container[name]`, if present, is a string matching `pattern`."""
    if name in container and not (isinstance(container[name], str) and pattern.match(container[name])):
        raise _fail(_path(where, name), f"must be {what}")


def _optional(container: dict, name: str, where: str, check) -> None:
    """Check `container[name]` with `check(value, path)`, if it is there."""
    if name in container:
        check(container[name], _path(where, name))


def is_iri(value: Any) -> bool:
    return isinstance(value, str) and bool(_IRI.match(value))


def _iri(value: Any, where: str) -> None:
    if not is_iri(value):
        raise _fail(where, "must be an IRI (scheme:...)")


def is_uuid(value: Any) -> bool:
    return isinstance(value, str) and bool(_UUID.match(value))


def _uuid(value: Any, where: str) -> None:
    if not is_uuid(value):
        raise _fail(where, "must be a UUID (8-4-4-4-12 hexadecimal digits)")


def parse_timestamp(value: Any, where: str) -> datetime:
    """An ISO 8601 date-time with its offset (xAPI 2.0 requires one; 1.0.3 clients send one)."""
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) and "T" in value else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise _fail(where, "must be an ISO 8601 date-time with a time zone")
    return parsed


def _language_map(value: Any, where: str) -> None:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise _fail(where, "must be a language map (language tag -> string)")


def _extensions(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise _fail(where, "must be a JSON object")
    for key in value:
        _iri(key, f"{where}[{key!r}]")


def _agent(value: Any, where: str, *, group_allowed: bool = True) -> None:
    kind = value.get("objectType", "Agent") if isinstance(value, dict) else None
    if kind == "Group" and group_allowed:
        agent = _object(value, where, _AGENT | {"member"})
        members = agent.get("member")
        if members is not None:
            if not isinstance(members, list):
                raise _fail(_path(where, "member"), "must be an array of agents")
            for index, member in enumerate(members):
                _agent(member, f"{where}.member[{index}]", group_allowed=False)
        identified = [name for name in _IDENTIFIERS if name in agent]
        if not identified and not members:
            raise _fail(where, "an anonymous group must list its members")
    elif kind == "Agent":
        agent = _object(value, where, _AGENT)
        identified = [name for name in _IDENTIFIERS if name in agent]
        if len(identified) != 1:
            raise _fail(where, "an agent needs exactly one of mbox, mbox_sha1sum, openid or account")
    else:
        raise _fail(where, "must be an Agent or a Group")
    _string(agent, "name", where)
    _string(agent, "mbox", where, _MAILTO, "a mailto: IRI")
    _string(agent, "mbox_sha1sum", where, _SHA1, "40 hexadecimal digits")
    _optional(agent, "openid", where, _iri)
    if "account" in agent:
        account = _object(agent["account"], _path(where, "account"), {"homePage", "name"})
        _iri(_required(account, "homePage", _path(where, "account")), _path(where, "account.homePage"))
        if not isinstance(_required(account, "name", _path(where, "account")), str):
            raise _fail(_path(where, "account.name"), "must be a string")


def _activity(value: Any, where: str) -> None:
    activity = _object(value, where, {"objectType", "id", "definition"})
    if activity.get("objectType", "Activity") != "Activity":
        raise _fail(_path(where, "objectType"), "must be 'Activity'")
    _iri(_required(activity, "id", where), _path(where, "id"))
    if "definition" in activity:
        definition = _object(activity["definition"], _path(where, "definition"), _DEFINITION)
        for name in ("name", "description"):
            if name in definition:
                _language_map(definition[name], _path(where, f"definition.{name}"))
        for name in ("type", "moreInfo"):
            if name in definition:
                _iri(definition[name], _path(where, f"definition.{name}"))
        if "extensions" in definition:
            _extensions(definition["extensions"], _path(where, "definition.extensions"))


def _statement_ref(value: Any, where: str) -> None:
    _uuid(_required(_object(value, where, {"objectType", "id"}), "id", where), _path(where, "id"))


def _target(value: Any, where: str, *, sub_statement_allowed: bool) -> None:
    kind = value.get("objectType", "Activity") if isinstance(value, dict) else None
    if kind == "Activity":
        _activity(value, where)
    elif kind in ("Agent", "Group"):
        _agent(value, where)
    elif kind == "StatementRef":
        _statement_ref(value, where)
    elif kind == "SubStatement" and sub_statement_allowed:
        sub = _object(value, where, _SUB_STATEMENT)
        _core(sub, where, sub_statement_allowed=False)
    else:
        raise _fail(where, "must be an Activity, Agent, Group, StatementRef or SubStatement")


def _result(value: Any, where: str) -> None:
    result = _object(value, where, {"score", "success", "completion", "response", "duration", "extensions"})
    for name in ("success", "completion"):
        if name in result and not isinstance(result[name], bool):
            raise _fail(_path(where, name), "must be true or false")
    _string(result, "response", where)
    _string(result, "duration", where, _DURATION, "an ISO 8601 duration")
    _optional(result, "extensions", where, _extensions)
    if "score" in result:
        score = _object(result["score"], _path(where, "score"), {"scaled", "raw", "min", "max"})
        for name, number in score.items():
            if isinstance(number, bool) or not isinstance(number, int | float):
                raise _fail(_path(where, f"score.{name}"), "must be a number")
        if not -1 <= score.get("scaled", 0) <= 1:
            raise _fail(_path(where, "score.scaled"), "must be between -1 and 1")
        low, raw, high = score.get("min"), score.get("raw"), score.get("max")
        if low is not None and high is not None and low >= high:
            raise _fail(_path(where, "score"), "min must be below max")
        if raw is not None and ((low is not None and raw < low) or (high is not None and raw > high)):
            raise _fail(_path(where, "score.raw"), "must lie between min and max")


def _context(value: Any, where: str) -> None:
    context = _object(value, where, _CONTEXT)
    _optional(context, "registration", where, _uuid)
    _optional(context, "instructor", where, _agent)
    _optional(context, "team", where, _agent)
    for name in ("revision", "platform", "language"):
        _string(context, name, where)
    _optional(context, "statement", where, _statement_ref)
    _optional(context, "extensions", where, _extensions)
    if "contextActivities" in context:
        activities = _object(context["contextActivities"], _path(where, "contextActivities"), _CONTEXT_ACTIVITIES)
        for name, listed in activities.items():
            # 1.0.3 allows a single activity where an array is expected.
            for index, activity in enumerate(listed if isinstance(listed, list) else [listed]):
                _activity(activity, f"{where}.contextActivities.{name}[{index}]")


def _core(statement: dict, where: str, *, sub_statement_allowed: bool) -> None:
    _agent(_required(statement, "actor", where), _path(where, "actor"))
    verb = _object(_required(statement, "verb", where), _path(where, "verb"), {"id", "display"})
    _iri(_required(verb, "id", _path(where, "verb")), _path(where, "verb.id"))
    if "display" in verb:
        _language_map(verb["display"], _path(where, "verb.display"))
    _target(_required(statement, "object", where), _path(where, "object"), sub_statement_allowed=sub_statement_allowed)
    _optional(statement, "result", where, _result)
    _optional(statement, "context", where, _context)
    _optional(statement, "timestamp", where, parse_timestamp)
    if "attachments" in statement and not isinstance(statement["attachments"], list):
        raise _fail(_path(where, "attachments"), "must be an array")


def check_statement(value: Any) -> dict:
    """The statement, if it is one by the specification; else InvalidStatement."""
    statement = _object(value, "", _STATEMENT)
    if "id" in statement:
        _uuid(statement["id"], "id")
    if "stored" in statement:
        parse_timestamp(statement["stored"], "stored")
    _string(statement, "version", "", _VERSION, "1.0.x or 2.0.0")
    if "authority" in statement:
        _agent(statement["authority"], "authority")
    _core(statement, "", sub_statement_allowed=True)
    return statement


def statement_digest(statement: Any, key: bytes) -> bytes:
    """What two submissions of one statement id are compared by: the statement without the
    properties the LRS sets, in one canonical JSON form, under a keyed hash (the statement
    names its learner, and a plain hash of it could be tested against a guess)."""
    own = statement
    if isinstance(statement, dict):
        own = {name: value for name, value in statement.items() if name not in LRS_PROPERTIES}
    return hmac.new(key, orjson.dumps(own, option=orjson.OPT_SORT_KEYS), hashlib.sha256).digest()
