"""District sync, the school's end: the profile of what leaves the school, chunks, the
upload round and its background task, USB bundles, changes handed back after a restore
(sync/README.md). The district's end is the `district` package."""
