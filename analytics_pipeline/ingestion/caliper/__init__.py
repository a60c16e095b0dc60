"""IMS Caliper events in: envelopes and events as Caliper sensors send them, mapped onto the
event contract, so everything after parsing treats them like native events (docs/caliper.md)."""
