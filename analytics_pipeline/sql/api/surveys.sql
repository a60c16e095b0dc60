SELECT
    s.org_id,
    s.course_id,
    k.course_title,
    s.responses,
    s.avg_rating,
    s.rating_1,
    s.rating_2,
    s.rating_3,
    s.rating_4,
    s.rating_5
FROM marts.survey_summary AS s
LEFT JOIN marts.course_catalog AS k ON s.org_id = k.org_id AND s.course_id = k.course_id
WHERE s.org_id = %(org)s AND (%(course)s::text IS NULL OR s.course_id = %(course)s)
ORDER BY s.course_id
