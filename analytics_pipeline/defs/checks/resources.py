"""The SLA thresholds the checks judge by: the project's configuration (config.SlaSettings,
set by ANALYTICS_SLA_* variables), read when a check runs, so the checks, the web app and the
metrics always judge by the same numbers."""

import dagster as dg

from analytics_pipeline.config import SlaSettings, load_config


class SlaResource(dg.ConfigurableResource):
    def settings(self) -> SlaSettings:
        return load_config().sla
