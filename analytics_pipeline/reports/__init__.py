"""Per-org charts: markdown for the Dagster UI, a self-contained HTML page for people."""
