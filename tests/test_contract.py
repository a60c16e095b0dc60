"""The event contract: every kind of bad line gets a precise reason, good lines pass."""

import orjson
import pytest

from analytics_pipeline.ingestion.contract import MAX_LINE_BYTES, Rejection, check_line

GOOD = {
    "clientEventId": "3f0c4a1e-0000-4000-8000-000000000001",
    "eventType": "video_progress",
    "occurredAt": "2026-01-03T10:00:00Z",
    "receivedAt": "2026-01-03T10:00:02Z",
    "userId": "u_123",
    "orgId": "org_a",
    "courseId": "c_1",
    "lessonId": "l_4",
    "sessionId": "s_9",
    "properties": {"positionSeconds": 120, "durationSeconds": 600},
    "user": {"email": "ada@example.org", "name": "Ada"},
}


def line(**changes) -> bytes:
    event = {**GOOD, **changes}
    return orjson.dumps({k: v for k, v in event.items() if v is not None})


def test_a_contract_event_is_accepted():
    event = check_line(line())
    assert not isinstance(event, Rejection)
    assert event.eventType == "video_progress" and event.lessonId == "l_4"
    assert event.properties == GOOD["properties"]


@pytest.mark.parametrize(
    ("raw", "code", "reason_part"),
    [
        (b'{"clientEventId": "x"', "invalid_json", "not valid"),
        (b"[1, 2]", "invalid_json", "JSON object"),
        (b"", "empty_line", "empty"),
        (b"\xff\xfe{}", "invalid_json", "UTF-8"),
        (b'{"a": "\\u0000"}', "invalid_encoding", "NUL"),
        (b"{" + b" " * 70_000 + b"}", "line_too_long", "limit"),
        (line(eventType="video_rewound"), "unknown_event_type", "video_rewound"),
        (line(eventType=None), "missing_field", "eventType"),
        (line(userId=None), "missing_field", "userId"),
        (line(lessonId=None), "missing_field", "lessonId"),
        (line(userId=""), "invalid_value", "userId"),
        (line(clientEventId="not-a-uuid"), "invalid_value", "clientEventId"),
        (line(occurredAt="2026-01-03T10:00:00"), "invalid_value", "timezone"),
        (line(occurredAt="yesterday"), "invalid_value", "occurredAt"),
        (line(occurredAt="1999-12-31T00:00:00Z"), "invalid_value", "2000"),
        (line(receivedAt="2999-01-01T00:00:00Z", occurredAt="2999-01-01T00:00:00Z"), "invalid_value", "future"),
        (line(properties={"positionSeconds": 900, "durationSeconds": 600}), "invalid_value", "durationSeconds"),
        (line(eventType="survey_submitted", properties={"rating": 9}), "invalid_value", "rating"),
        (line(eventType="survey_submitted", properties={}), "missing_field", "properties.rating"),
        (
            line(eventType="quiz_submitted", properties={"score": 5, "maxScore": 3, "passed": True}),
            "invalid_value",
            "maxScore",
        ),
        (line(eventType="quiz_answered", properties={"correct": True}), "missing_field", "questionId"),
        (
            line(eventType="quiz_answered", properties={"questionId": "q1", "correct": "yes"}),
            "invalid_value",
            "correct",
        ),
        (line(eventType="quiz_submitted", properties={"score": 2, "passed": True}), "invalid_value", "together"),
        (
            line(eventType="quiz_answered", properties={"questionId": "q1", "correct": True, "scaledScore": 2}),
            "invalid_value",
            "scaledScore",
        ),
        (line(eventType="quiz_submitted", properties={"passed": True, "attemptId": ""}), "invalid_value", "attemptId"),
    ],
)
def test_bad_lines_are_rejected_with_a_precise_reason(raw, code, reason_part):
    outcome = check_line(raw)
    assert isinstance(outcome, Rejection)
    assert outcome.code == code
    assert reason_part in outcome.reason


def test_a_submission_may_come_without_a_score_and_an_answer_with_one():
    unscored = line(eventType="quiz_submitted", properties={"passed": True})
    scored = line(
        eventType="quiz_answered",
        properties={"questionId": "q1", "correct": False, "score": 0, "maxScore": 3, "scaledScore": 0},
    )
    assert not isinstance(check_line(unscored), Rejection) and not isinstance(check_line(scored), Rejection)


def test_an_answer_may_not_say_whether_it_was_right_and_a_submission_may_wait_for_its_grade():
    answer = line(eventType="quiz_answered", properties={"questionId": "q1"})
    submitted = line(eventType="quiz_submitted", properties={"attemptId": "a1"})
    grade = line(eventType="quiz_submitted", properties={"gradeOf": "a1", "score": 2, "maxScore": 3, "passed": True})
    for raw in (answer, submitted, grade):
        assert not isinstance(check_line(raw), Rejection), raw


def test_lesson_id_is_optional_for_course_level_events():
    assert not isinstance(check_line(line(eventType="course_completed", lessonId=None, properties=None)), Rejection)


def test_a_line_ending_does_not_count_against_the_line():
    def padded(extra: int) -> bytes:
        base = line(properties={"pad": ""})
        return line(properties={"pad": "x" * (MAX_LINE_BYTES - len(base) + extra)})

    assert len(padded(0)) == MAX_LINE_BYTES
    assert not isinstance(check_line(padded(0) + b"\r\n"), Rejection)
    assert not isinstance(check_line(line() + b"\n"), Rejection)
    too_long = check_line(padded(1) + b"\n")
    assert isinstance(too_long, Rejection) and too_long.code == "line_too_long"
    cut = check_line(line()[:40] + b"\n")
    assert isinstance(cut, Rejection) and cut.reason.endswith("truncated")
    blank = check_line(b" \r\n")
    assert isinstance(blank, Rejection) and blank.code == "empty_line"
