SELECT
    d.org_id,
    d.course_id,
    d.lesson_id,
    d.lesson_position,
    d.learners_started,
    d.learners_continued,
    d.dropoff_rate
FROM marts.view_lesson_dropoff AS d
WHERE d.org_id = %(org)s AND (%(course)s::text IS NULL OR d.course_id = %(course)s)
ORDER BY d.course_id, d.lesson_position
