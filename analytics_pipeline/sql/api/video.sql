SELECT
    v.org_id,
    v.course_id,
    k.course_title,
    v.lesson_id,
    v.lesson_position,
    l.lesson_title,
    v.segment,
    v.segment_start_seconds,
    v.segment_end_seconds,
    v.learners_played,
    v.viewers,
    v.views,
    v.reach_rate
FROM marts.video_engagement AS v
LEFT JOIN marts.course_catalog AS k ON v.org_id = k.org_id AND v.course_id = k.course_id
LEFT JOIN marts.lesson_catalog AS l ON v.org_id = l.org_id AND v.course_id = l.course_id AND v.lesson_id = l.lesson_id
WHERE v.org_id = %(org)s AND (%(course)s::text IS NULL OR v.course_id = %(course)s)
ORDER BY v.course_id, v.lesson_position, v.segment
