"""ES's deprecation ``Warning`` response header: ``299 Elasticsearch-<version>-<build> "<message>"``.

Clients (the official ones, the YAML runner) read the quoted text; the warn-code 299 and the agent name are
fixed by ES's ``HeaderWarning``.
"""

from __future__ import annotations

__all__ = ["warning_header"]


def warning_header(version: str, message: str) -> dict[str, str]:
    """The ``Warning`` header carrying ``message``."""
    escaped = message.replace("\\", "\\\\").replace('"', '\\"')
    return {"Warning": f'299 Elasticsearch-{version}-quidditch "{escaped}"'}
