"""The forms the generator writes its corpus in, by name, with what each file holds."""

FORMATS = {"native": "native events", "xapi": "xAPI statements", "caliper": "Caliper events"}
