"""Diagon, the shard engine: mappings, analysis, the query DSL, aggregations and the shard itself."""
