"""The web app's routes, a module per part: each holds module-level handlers that take what
they share from `request.state.services` (web/services.py)."""
