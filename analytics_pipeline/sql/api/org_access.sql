-- What the calling role may do with one org: read its figures, read its survey free text;
-- and whether the pipeline knows the org at all.
SELECT
    access.org_visible(%(org)s) AS visible,
    access.free_text_visible(%(org)s) AS free_text_visible,
    EXISTS(SELECT 1 FROM marts.org_insights AS i WHERE i.org_id = %(org)s) AS known
