-- Every course's and lesson's title by its id, for the summaries to name them by.
SELECT c.course_id, c.title FROM raw.courses AS c
UNION ALL
SELECT l.lesson_id, l.title FROM raw.lessons AS l
