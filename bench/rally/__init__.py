"""A local Rally (``esrally``) track for the generated log corpus; see ``bench/rally/README.md``."""
