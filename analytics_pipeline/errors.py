"""The project's own error for a setting that is missing or invalid."""


class ConfigurationError(RuntimeError):
    """A setting is missing or invalid; the message says which and what to do."""
