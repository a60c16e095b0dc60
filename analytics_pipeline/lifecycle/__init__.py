"""Learner data's lifecycle: erasure on request."""
