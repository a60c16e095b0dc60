-- What the calling role may do with one org: read its figures, read its survey free text;
-- whether the marts know the org at all, and the course asked for in it (true when none is).
SELECT
    access.org_visible(%(org)s) AS visible,
    access.free_text_visible(%(org)s) AS free_text_visible,
    EXISTS(SELECT 1 FROM marts.org_insights AS i WHERE i.org_id = %(org)s) AS known,
    %(course)s::text IS NULL OR EXISTS (
        SELECT 1 FROM marts.view_course_completion_rate AS c
        WHERE c.org_id = %(org)s AND c.course_id = %(course)s
    ) AS course_known
