"""The published marts (dbt models in the `marts` schema) that dashboards and exports read."""

MARTS = ("view_course_completion_rate", "view_lesson_dropoff", "org_engagement_daily", "survey_summary")
