"""Certificates: PDFs rendered once at issue, stored, served, revoked and publicly verified."""
