"""What every page shares: access rules, CSRF, security headers, templates, error pages."""
