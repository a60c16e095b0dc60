"""Deterministic demo data in the landing-zone contract."""
