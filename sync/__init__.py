"""District sync: change feed, upload protocol, bundles (later issues)."""
