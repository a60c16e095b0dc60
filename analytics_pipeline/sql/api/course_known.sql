-- Whether the course is assigned in the org, as the calling role sees it.
SELECT EXISTS(
    SELECT 1 FROM marts.view_course_completion_rate AS c
    WHERE c.org_id = %(org)s AND c.course_id = %(course)s
) AS known
