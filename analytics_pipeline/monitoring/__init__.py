"""Plain functions behind the SLA and integrity checks, the status command and alerts."""
