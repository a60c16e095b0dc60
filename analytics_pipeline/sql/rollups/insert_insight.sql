INSERT INTO core.analytics_insights (
    org_id, org_name, active_learners_7d, active_learners_30d, enrolled_learners,
    completed_learners, completion_rate, top_dropoff_course_id, top_dropoff_lesson_id,
    top_dropoff_rate, videos_played, videos_completed, video_completion_rate,
    quizzes_submitted, quiz_pass_rate, survey_responses, survey_avg_rating, data_fresh_as_of,
    summary
) VALUES (
    %(org_id)s, %(org_name)s, %(active_learners_7d)s, %(active_learners_30d)s, %(enrolled_learners)s,
    %(completed_learners)s, %(completion_rate)s, %(top_dropoff_course_id)s, %(top_dropoff_lesson_id)s,
    %(top_dropoff_rate)s, %(videos_played)s, %(videos_completed)s, %(video_completion_rate)s,
    %(quizzes_submitted)s, %(quiz_pass_rate)s, %(survey_responses)s, %(survey_avg_rating)s,
    %(data_fresh_as_of)s, %(summary)s
)
