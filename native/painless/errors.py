"""Script errors, shaped like ES's ``script_exception`` (a ``caused_by`` naming the actual problem)."""

from __future__ import annotations

from typing import Any

from native.errors import BadRequest, IllegalArgument


class ScriptError(BadRequest):
    """A script that does not compile (``reason: compile error``) or fails while running (``runtime error``)."""

    es_type = "script_exception"

    def __init__(self, reason: str, cause: str, *, source: str, lang: str = "painless", **extra: Any) -> None:
        super().__init__(
            reason,
            caused_by=IllegalArgument(cause),
            script_stack=[source[:80]],
            script=source,
            lang=lang,
            **extra,
        )
        self.cause = cause


class CompileError(ScriptError):
    def __init__(self, cause: str, *, source: str, position: int = 0) -> None:
        super().__init__(
            "compile error",
            cause,
            source=source,
            position={"offset": position, "start": position, "end": min(len(source), position + 1)},
        )


class RuntimeScriptError(ScriptError):
    def __init__(self, cause: str, *, source: str, lang: str = "painless") -> None:
        super().__init__("runtime error", cause, source=source, lang=lang)
