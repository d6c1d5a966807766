"""Issuing credentials with printable slips (filled in by the credentials work)."""

ROUTES: list = []
