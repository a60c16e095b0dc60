-- One org's lesson funnel: learners who started each lesson, course by course, in order.
SELECT
    d.course_id, coalesce(c.title, d.course_id) AS course_title, d.lesson_position,
    d.learners_started, d.learners_continued
FROM marts.view_lesson_dropoff AS d
LEFT JOIN raw.courses AS c USING (course_id)
WHERE d.org_id = %(org)s
ORDER BY course_title, d.lesson_position
