"""Runners for data-driven compatibility suites (Elasticsearch YAML REST test format)."""
