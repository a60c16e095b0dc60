SELECT
    v.org_id,
    v.course_id,
    v.lesson_id,
    v.lesson_position,
    v.segment,
    v.segment_start_seconds,
    v.segment_end_seconds,
    v.learners_played,
    v.viewers,
    v.views,
    v.reach_rate
FROM marts.video_engagement AS v
WHERE v.org_id = %(org)s AND (%(course)s::text IS NULL OR v.course_id = %(course)s)
ORDER BY v.course_id, v.lesson_position, v.segment
