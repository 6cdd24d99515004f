from __future__ import annotations

from typing import Any

from native.errors import ParsingError


def _refuse(name: str, kind: str, body: dict[str, Any]) -> Any:
    raise ParsingError(f"Unknown aggregation type [{kind}]")


parse_significant_terms = parse_significant_text = parse_multi_terms = _refuse
KINDS: dict[str, Any] = {}
