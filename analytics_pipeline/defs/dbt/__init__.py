"""dbt's models as Dagster assets, and the dbt that builds them in this process."""

from mashumaro.config import BaseConfig

# dbt's own classes compile their serializers when first used (mashumaro's lazy_compilation);
# the JSON-schema classes mashumaro defines itself, imported with dbt, compile as they are
# defined unless this default says otherwise. Every process that loads the definitions imports
# them, and only a dbt command that validates a project uses them.
BaseConfig.lazy_compilation = True
