-- The schemas dbt builds staging and intermediate models in, made here as marts is
-- (0004_access.sql): the first incremental build and the first marts build may start at once
-- on a new database, and two concurrent CREATE SCHEMA IF NOT EXISTS collide on the name.
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS intermediate;
