SELECT
    q.org_id,
    q.course_id,
    k.course_title,
    q.lesson_id,
    l.lesson_title,
    q.question_id,
    q.learners_answered,
    q.first_attempt_correct_rate,
    q.eventual_correct_rate,
    q.attempts_per_learner,
    q.flag
FROM marts.quiz_item_difficulty AS q
LEFT JOIN marts.course_catalog AS k ON q.org_id = k.org_id AND q.course_id = k.course_id
LEFT JOIN marts.lesson_catalog AS l ON q.org_id = l.org_id AND q.course_id = l.course_id AND q.lesson_id = l.lesson_id
WHERE q.org_id = %(org)s AND (%(course)s::text IS NULL OR q.course_id = %(course)s)
ORDER BY q.flag IS NULL, q.first_attempt_correct_rate, q.course_id, q.lesson_id, q.question_id
