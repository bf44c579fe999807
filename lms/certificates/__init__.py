"""Certificates: PDF designs rendered once at issue, stored, served, revoked and publicly verified."""
