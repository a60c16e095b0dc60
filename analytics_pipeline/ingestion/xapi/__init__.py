"""xAPI statements in: validated as a Learning Record Store validates them, then mapped onto
the event contract, so everything after parsing treats them like native events."""
