"""The published marts: the dbt models in the project's `models/marts` folder (the `marts`
schema), which dashboards, the admin API and exports read. Adding a model there publishes it."""

from analytics_pipeline.project_layout import DBT_PROJECT_DIR

MARTS = tuple(sorted(path.stem for path in (DBT_PROJECT_DIR / "models" / "marts").glob("*.sql")))
