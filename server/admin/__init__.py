"""Administration pages: the login record now; backups, settings and sync later."""
