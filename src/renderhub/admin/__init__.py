"""The operator's side: the admin API, usage, quotas, metrics and the dashboard."""
