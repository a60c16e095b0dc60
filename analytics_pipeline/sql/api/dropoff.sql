SELECT
    d.org_id,
    d.course_id,
    k.course_title,
    d.lesson_id,
    d.lesson_position,
    l.lesson_title,
    d.learners_started,
    d.learners_continued,
    d.dropoff_rate
FROM marts.view_lesson_dropoff AS d
LEFT JOIN marts.course_catalog AS k ON d.org_id = k.org_id AND d.course_id = k.course_id
LEFT JOIN marts.lesson_catalog AS l ON d.org_id = l.org_id AND d.course_id = l.course_id AND d.lesson_id = l.lesson_id
WHERE d.org_id = %(org)s AND (%(course)s::text IS NULL OR d.course_id = %(course)s)
ORDER BY d.course_id, d.lesson_position
