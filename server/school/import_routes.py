"""Import of class lists and staff from CSV/XLSX (filled in by the import work)."""

ROUTES: list = []
