"""The year lifecycle (§3.4.8): closing periods and the year, preparing the next year, promotion."""
