"""The expression tree of the painless subset (``native.painless.parser`` builds it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Const:
    value: Any  # int (a Java long), float (a double), str, bool or None (null)


@dataclass(frozen=True)
class Name:
    name: str  # a script variable: ``params``, ``values``, ``ctx`` …


@dataclass(frozen=True)
class Static:
    cls: str  # Math, Double, Integer, Long, MovingFunctions
    member: str


@dataclass(frozen=True)
class Field:
    obj: Expr
    name: str
    null_safe: bool = False


@dataclass(frozen=True)
class Index:
    obj: Expr
    index: Expr


@dataclass(frozen=True)
class Call:
    """``obj.name(args)``; ``obj`` is a ``Static`` holder (``Math``) for static functions."""

    obj: Expr
    name: str
    args: tuple[Expr, ...]
    null_safe: bool = False


@dataclass(frozen=True)
class Unary:
    op: str  # ! - +
    operand: Expr


@dataclass(frozen=True)
class Binary:
    op: str  # || && == != < <= > >= + - * / %
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Ternary:
    cond: Expr
    then: Expr
    other: Expr


@dataclass(frozen=True)
class ClassRef:
    cls: str  # the bare class name before ``.member``


Expr = Const | Name | Static | Field | Index | Call | Unary | Binary | Ternary | ClassRef
