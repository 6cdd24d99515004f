"""Evaluation of a compiled painless-subset expression, with Java's arithmetic.

Values are Python ``int`` (a Java long), ``float`` (a double), ``bool``, ``str``, ``None`` (null),
``list`` (arrays and lists) and ``dict`` (maps such as ``params``). ``int op int`` stays integral
(division truncates toward zero, ``/ by zero`` fails, results wrap at 64 bits); any double makes the
operation a double one (``x / 0.0`` is infinite, ``0.0 / 0.0`` NaN). ``+`` with a string concatenates.
``==`` compares numbers by value and everything else by ``equals``. There are no loops or assignments,
so evaluation is bounded by the size of the tree; ``MAX_STEPS`` bounds it again.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from native.painless import moving_functions
from native.painless.ast import Binary, Call, ClassRef, Const, Expr, Field, Index, Name, Static, Ternary, Unary

MAX_STEPS = 100_000


class EvalError(Exception):
    """A runtime failure; the caller wraps it as a ``script_exception`` (runtime error)."""


def _num_args(n: int) -> Callable[[list[Any]], None]:
    def check(args: list[Any]) -> None:
        for arg in args:
            if not _is_number(arg):
                raise EvalError(f"cannot cast [{_type_name(arg)}] to [double]")

    return check


def _java_round(x: float) -> int:
    if math.isnan(x):
        return 0
    if math.isinf(x):
        return (2**63 - 1) if x > 0 else -(2**63)
    return math.floor(x + 0.5)


def _same_kind(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def apply(a: Any, b: Any) -> Any:
        if isinstance(a, int) and isinstance(b, int):
            return fn(a, b)
        a, b = float(a), float(b)
        if math.isnan(a) or math.isnan(b):
            return math.nan
        return float(fn(a, b))

    return apply


# (class, member) → (arity, function)
STATIC_FUNCTIONS: dict[tuple[str, str], tuple[int, Callable[..., Any]]] = {
    ("Math", "abs"): (1, abs),
    ("Math", "max"): (2, _same_kind(max)),
    ("Math", "min"): (2, _same_kind(min)),
    ("Math", "pow"): (2, lambda a, b: _pow(float(a), float(b))),
    ("Math", "sqrt"): (1, lambda a: math.sqrt(a) if a >= 0 else math.nan),
    ("Math", "cbrt"): (1, lambda a: math.copysign(abs(a) ** (1 / 3), a)),
    ("Math", "log"): (1, lambda a: _log(float(a), math.log)),
    ("Math", "log10"): (1, lambda a: _log(float(a), math.log10)),
    ("Math", "exp"): (1, lambda a: _exp(float(a))),
    ("Math", "floor"): (1, lambda a: float(math.floor(a)) if math.isfinite(a) else float(a)),
    ("Math", "ceil"): (1, lambda a: float(math.ceil(a)) if math.isfinite(a) else float(a)),
    ("Math", "round"): (1, lambda a: _java_round(float(a))),
    ("Math", "signum"): (1, lambda a: math.nan if math.isnan(a) else float((a > 0) - (a < 0))),
    ("Double", "isNaN"): (1, lambda a: math.isnan(a)),
    ("Double", "isInfinite"): (1, lambda a: math.isinf(a)),
    ("Double", "isFinite"): (1, lambda a: math.isfinite(a)),
}
STATIC_CONSTANTS: dict[tuple[str, str], Any] = {
    ("Math", "PI"): math.pi,
    ("Math", "E"): math.e,
    ("Double", "NaN"): math.nan,
    ("Double", "POSITIVE_INFINITY"): math.inf,
    ("Double", "NEGATIVE_INFINITY"): -math.inf,
    ("Double", "MAX_VALUE"): 1.7976931348623157e308,
    ("Double", "MIN_VALUE"): 5e-324,
    ("Integer", "MAX_VALUE"): 2**31 - 1,
    ("Integer", "MIN_VALUE"): -(2**31),
    ("Long", "MAX_VALUE"): 2**63 - 1,
    ("Long", "MIN_VALUE"): -(2**63),
}
# instance method name → allowed argument counts
METHODS: dict[str, tuple[int, ...]] = {
    "size": (0,), "length": (0,), "isEmpty": (0,), "contains": (1,), "containsKey": (1,), "get": (1,),
    "startsWith": (1,), "endsWith": (1,), "equals": (1,), "equalsIgnoreCase": (1,), "toLowerCase": (0,),
    "toUpperCase": (0,), "trim": (0,), "substring": (1, 2), "indexOf": (1,), "toString": (0,),
    "doubleValue": (0,), "intValue": (0,), "longValue": (0,),
}  # fmt: skip


def _pow(a: float, b: float) -> float:
    try:
        return float(a**b) if not (a < 0 and not float(b).is_integer()) else math.nan
    except OverflowError:
        return math.inf
    except ZeroDivisionError:
        return math.inf


def _log(a: float, fn: Callable[[float], float]) -> float:
    if math.isnan(a) or a < 0:
        return math.nan
    if a == 0:
        return -math.inf
    return fn(a)


def _exp(a: float) -> float:
    try:
        return math.exp(a)
    except OverflowError:
        return math.inf


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "java.lang.Boolean"
    if isinstance(value, int):
        return "java.lang.Long"
    if isinstance(value, float):
        return "java.lang.Double"
    if isinstance(value, str):
        return "java.lang.String"
    if isinstance(value, list | tuple):
        return "java.util.ArrayList"
    if isinstance(value, dict):
        return "java.util.HashMap"
    return type(value).__name__


def _wrap(value: int) -> int:
    return ((value + 2**63) % 2**64) - 2**63


def java_string(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        if value == 0 or 1e-3 <= abs(value) < 1e7:
            return repr(value)
        sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
        text = "".join(map(str, digits))
        power = len(text) - 1 + int(exponent)
        return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{power}"
    return str(value)


class Evaluator:
    def __init__(self, variables: dict[str, Any]) -> None:
        self.variables = variables
        self.steps = 0

    def eval(self, node: Expr) -> Any:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise EvalError(f"script exceeded the evaluation budget of [{MAX_STEPS}] steps")
        if isinstance(node, Const):
            return node.value
        if isinstance(node, Name):
            return self.variables.get(node.name)
        if isinstance(node, Static):
            return STATIC_CONSTANTS[(node.cls, node.member)]
        if isinstance(node, Binary):
            return self._binary(node)
        if isinstance(node, Unary):
            return self._unary(node)
        if isinstance(node, Ternary):
            return self.eval(node.then) if self._bool(self.eval(node.cond), "?:") else self.eval(node.other)
        if isinstance(node, Field):
            return self._field(node)
        if isinstance(node, Index):
            return self._index(self.eval(node.obj), self.eval(node.index))
        if isinstance(node, Call):
            return self._call(node)
        assert not isinstance(node, ClassRef)
        raise EvalError(f"cannot evaluate [{type(node).__name__}]")

    # -- operators -------------------------------------------------------------------------------------

    def _bool(self, value: Any, op: str) -> bool:
        if not isinstance(value, bool):
            raise EvalError(f"cannot cast [{_type_name(value)}] to [boolean] for [{op}]")
        return value

    def _unary(self, node: Unary) -> Any:
        value = self.eval(node.operand)
        if node.op == "!":
            return not self._bool(value, "!")
        if not _is_number(value):
            raise EvalError(f"cannot apply [{node.op}] to [{_type_name(value)}]")
        if node.op == "-":
            return _wrap(-value) if isinstance(value, int) else -value
        return value

    def _binary(self, node: Binary) -> Any:
        op = node.op
        if op == "&&":
            return self._bool(self.eval(node.left), op) and self._bool(self.eval(node.right), op)
        if op == "||":
            return self._bool(self.eval(node.left), op) or self._bool(self.eval(node.right), op)
        left, right = self.eval(node.left), self.eval(node.right)
        if op in ("==", "!="):
            same = _equals(left, right)
            return same if op == "==" else not same
        if op == "+" and (isinstance(left, str) or isinstance(right, str)):
            return java_string(left) + java_string(right)
        if not _is_number(left) or not _is_number(right):
            raise EvalError(f"cannot apply [{op}] to types [{_type_name(left)}] and [{_type_name(right)}]")
        if op in ("<", "<=", ">", ">="):
            return _compare(op, left, right)
        if isinstance(left, int) and isinstance(right, int):
            return _long_arith(op, left, right)
        return _double_arith(op, float(left), float(right))

    # -- access ----------------------------------------------------------------------------------------

    def _field(self, node: Field) -> Any:
        obj = self.eval(node.obj)
        if obj is None:
            if node.null_safe:
                return None
            raise EvalError(f"cannot access field [{node.name}] of null")
        if isinstance(obj, dict):
            return obj.get(node.name)
        if isinstance(obj, list | tuple) and node.name == "length":
            return len(obj)
        raise EvalError(f"cannot access field [{node.name}] of [{_type_name(obj)}]")

    def _index(self, obj: Any, index: Any) -> Any:
        if isinstance(obj, dict):
            return obj.get(index)
        if isinstance(obj, list | tuple):
            if not isinstance(index, int) or isinstance(index, bool):
                raise EvalError(f"cannot index with [{_type_name(index)}]")
            if not -len(obj) <= index < len(obj):
                raise EvalError(f"Index {index} out of bounds for length {len(obj)}")
            return obj[index]
        raise EvalError(f"cannot index into [{_type_name(obj)}]")

    def _call(self, node: Call) -> Any:
        if isinstance(node.obj, Static):
            args = [self.eval(arg) for arg in node.args]
            if node.obj.cls == "MovingFunctions":
                return _moving(node.name, args)
            _, function = STATIC_FUNCTIONS[(node.obj.cls, node.name)]
            _num_args(len(args))(args)
            return function(*args)
        obj = self.eval(node.obj)
        if obj is None:
            if node.null_safe:
                return None
            raise EvalError(f"cannot invoke method [{node.name}] on null")
        args = [self.eval(arg) for arg in node.args]
        return _method(obj, node.name, args)


def _equals(left: Any, right: Any) -> bool:
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    if type(left) is not type(right) and not (isinstance(left, list | tuple) and isinstance(right, list | tuple)):
        return False
    return bool(left == right)


def _compare(op: str, left: float, right: float) -> bool:
    if op == "<":
        return left < right
    if op == "<=":
        return left <= right
    if op == ">":
        return left > right
    return left >= right


def _long_arith(op: str, a: int, b: int) -> int:
    if op == "+":
        return _wrap(a + b)
    if op == "-":
        return _wrap(a - b)
    if op == "*":
        return _wrap(a * b)
    if b == 0:
        raise EvalError("/ by zero")
    quotient = abs(a) // abs(b) * (1 if (a >= 0) == (b >= 0) else -1)
    if op == "/":
        return _wrap(quotient)
    return a - b * quotient


def _double_arith(op: str, a: float, b: float) -> float:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        if b == 0:
            if a == 0 or math.isnan(a):
                return math.nan
            return math.copysign(math.inf, a) * math.copysign(1.0, b)
        return a / b
    if b == 0 or math.isinf(a) or math.isnan(a) or math.isnan(b):
        return math.nan
    return math.fmod(a, b)


def _moving(name: str, args: list[Any]) -> float:
    _, kinds = moving_functions.FUNCTIONS[name]
    converted: list[Any] = []
    for kind, arg in zip(kinds, args, strict=True):
        if kind == "a":
            if not isinstance(arg, list | tuple) or not all(_is_number(v) for v in arg):
                raise EvalError(f"MovingFunctions.{name} expects a double[] but got [{_type_name(arg)}]")
            converted.append([float(v) for v in arg])
        elif kind == "b":
            if not isinstance(arg, bool):
                raise EvalError(f"cannot cast [{_type_name(arg)}] to [boolean]")
            converted.append(arg)
        elif kind == "i":
            if not isinstance(arg, int) or isinstance(arg, bool):
                raise EvalError(f"cannot cast [{_type_name(arg)}] to [int]")
            converted.append(arg)
        else:
            if not _is_number(arg):
                raise EvalError(f"cannot cast [{_type_name(arg)}] to [double]")
            converted.append(float(arg))
    try:
        return moving_functions.call(name, converted)
    except (ValueError, ZeroDivisionError, IndexError) as exc:
        raise EvalError(str(exc)) from exc


def _method(obj: Any, name: str, args: list[Any]) -> Any:
    if name == "equals":
        return _equals(obj, args[0])
    if name == "toString":
        return java_string(obj)
    if isinstance(obj, str):
        return _string_method(obj, name, args)
    if isinstance(obj, list | tuple):
        if name in ("size", "length"):
            return len(obj)
        if name == "isEmpty":
            return not obj
        if name == "contains":
            return any(_equals(item, args[0]) for item in obj)
        if name == "get":
            return Evaluator({})._index(list(obj), args[0])
    elif isinstance(obj, dict):
        if name == "size":
            return len(obj)
        if name == "isEmpty":
            return not obj
        if name == "containsKey":
            return args[0] in obj
        if name == "get":
            return obj.get(args[0])
    elif _is_number(obj):
        if name == "doubleValue":
            return float(obj)
        if name in ("intValue", "longValue"):
            return int(obj) if math.isfinite(obj) else 0
    raise EvalError(f"dynamic method [{_type_name(obj)}, {name}/{len(args)}] not found")


def _string_method(text: str, name: str, args: list[Any]) -> Any:
    if name == "length":
        return len(text)
    if name == "isEmpty":
        return not text
    if name == "toLowerCase":
        return text.lower()
    if name == "toUpperCase":
        return text.upper()
    if name == "trim":
        return text.strip(" \t\n\r\f\v\0")
    if name in ("contains", "startsWith", "endsWith", "indexOf", "equalsIgnoreCase"):
        other = args[0]
        if not isinstance(other, str):
            if other is None:
                raise EvalError(f"cannot invoke [{name}] with a null argument")
            raise EvalError(f"cannot cast [{_type_name(other)}] to [java.lang.String]")
        if name == "contains":
            return other in text
        if name == "startsWith":
            return text.startswith(other)
        if name == "endsWith":
            return text.endswith(other)
        if name == "indexOf":
            return text.find(other)
        return text.lower() == other.lower()
    if name == "substring":
        if not all(isinstance(a, int) and not isinstance(a, bool) for a in args):
            raise EvalError("substring expects int arguments")
        begin = args[0]
        end = args[1] if len(args) > 1 else len(text)
        if begin < 0 or end > len(text) or begin > end:
            raise EvalError(f"begin {begin}, end {end}, length {len(text)}")
        return text[begin:end]
    raise EvalError(f"dynamic method [java.lang.String, {name}/{len(args)}] not found")
