"""Tokenizer of the painless subset: numbers, strings, names and the operators the parser knows.

Operators outside the subset (assignment, increments, bitwise, lambdas, braces) are tokenized too, so
that the parser can refuse them by name instead of failing on an unreadable character.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from native.painless.errors import CompileError

_OPERATORS = (
    ">>>=", "===", "!==", ">>>", "<<=", ">>=", "==~",
    "?.", "&&", "||", "==", "!=", "<=", ">=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "++", "--",
    "->", "::", "<<", ">>", "=~",
    "(", ")", "[", "]", ".", ",", ";", "?", ":", "+", "-", "*", "/", "%", "!", "<", ">", "=", "&", "|",
    "^", "~", "{", "}",
)  # fmt: skip
_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+[lL]?|(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?[dDfFlL]?")
_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r"}


@dataclass(frozen=True)
class Token:
    kind: str  # num | str | name | op | end
    text: str
    value: object
    pos: int


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch.isspace():
            i += 1
            continue
        if source.startswith("//", i):
            end = source.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if source.startswith("/*", i):
            end = source.find("*/", i + 2)
            if end < 0:
                raise CompileError("unterminated comment", source=source, position=i)
            i = end + 2
            continue
        if ch.isdigit() or (ch == "." and i + 1 < n and source[i + 1].isdigit()):
            match = _NUMBER.match(source, i)
            assert match is not None
            text = match.group()
            tokens.append(Token("num", text, _number(text, source, i), i))
            i = match.end()
            continue
        if ch in "'\"":
            value, i2 = _string(source, i)
            tokens.append(Token("str", source[i:i2], value, i))
            i = i2
            continue
        match = _NAME.match(source, i)
        if match:
            tokens.append(Token("name", match.group(), match.group(), i))
            i = match.end()
            continue
        for op in _OPERATORS:
            if source.startswith(op, i):
                tokens.append(Token("op", op, op, i))
                i += len(op)
                break
        else:
            raise CompileError(f"unexpected character [{ch}]", source=source, position=i)
    tokens.append(Token("end", "<EOF>", None, n))
    return tokens


def _number(text: str, source: str, pos: int) -> int | float:
    suffix = text[-1] if text[-1] in "dDfFlL" and not text.lower().startswith("0x") else ""
    body = text[:-1] if suffix or text[-1] in "lL" else text
    if body.lower().startswith("0x"):
        return int(body.rstrip("lL"), 16)
    if suffix in ("d", "D", "f", "F") or any(c in body for c in ".eE"):
        return float(body)
    value = int(body)
    if value >= 2**63:
        raise CompileError(f"invalid number [{text}]", source=source, position=pos)
    return value


def _string(source: str, start: int) -> tuple[str, int]:
    quote = source[start]
    out: list[str] = []
    i = start + 1
    while i < len(source):
        ch = source[i]
        if ch == quote:
            return "".join(out), i + 1
        if ch == "\\" and i + 1 < len(source):
            escaped = _ESCAPES.get(source[i + 1])
            if escaped is None:
                raise CompileError(f"invalid escape sequence [\\{source[i + 1]}]", source=source, position=i)
            out.append(escaped)
            i += 2
            continue
        out.append(ch)
        i += 1
    raise CompileError("unterminated string", source=source, position=start)
