"""Operators' view of the whole hub: the Prometheus endpoint on the platform's base domain."""
