"""Tenant access: database roles, org grants, and exports under row-level security."""
