"""The school appliance: release bundles, safe updates, HTTPS on the LAN, the health page
(deploy/appliance.md). The checks themselves are in server/health.py."""
