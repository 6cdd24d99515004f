"""A small, safe evaluator of a painless subset (the scripts pipeline aggregations and ``if`` conditions use).

    script = compile_script({"source": "params.a / params.b > 1", "params": {...}}, variables={"params"})
    script.run({"params": {"a": 3, "b": 2}})   # True

Not a scripting language: one expression (optionally ``return <expr>;``) over ``params.x`` /
``params['x']``, literals (numbers, strings, ``true``/``false``/``null``), arithmetic, comparisons,
``&&`` ``||`` ``!``, ``?:``, null-safe ``?.``, ``Math.*`` basics, ``Double.*`` constants, a few
String/List/Map methods (``size length contains startsWith endsWith equals toLowerCase`` …) and
``MovingFunctions.*``. Everything else is refused when compiling, with a 400 ``script_exception``
(``compile error``) whose ``caused_by`` names the construct; failures while running are a
``script_exception`` (``runtime error``). ``lang`` must be ``painless`` (the default) or ``expression``;
stored scripts (``id``) are refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from native.errors import IllegalArgument, ParsingError
from native.painless import moving_functions
from native.painless.ast import Binary, Call, ClassRef, Const, Expr, Field, Index, Name, Static, Ternary, Unary
from native.painless.errors import CompileError, RuntimeScriptError, ScriptError
from native.painless.interpreter import METHODS, STATIC_CONSTANTS, STATIC_FUNCTIONS, EvalError, Evaluator
from native.painless.parser import parse

__all__ = ["CompileError", "RuntimeScriptError", "Script", "ScriptError", "compile_script"]

MAX_SOURCE_CHARS = 65_535  # ES's script.max_size_in_bytes
LANGS = ("painless", "expression")


@dataclass(frozen=True)
class Script:
    source: str
    tree: Expr
    params: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    lang: str = "painless"

    def run(self, variables: dict[str, Any]) -> Any:
        """Evaluate with ``variables`` (``params`` defaults to the script's own params)."""
        scope = {"params": self.params, **variables}
        if self.lang == "expression" and isinstance(scope.get("params"), dict):
            scope = {**scope["params"], **scope}
        try:
            return Evaluator(scope).eval(self.tree)
        except EvalError as exc:
            raise RuntimeScriptError(str(exc), source=self.source, lang=self.lang) from exc
        except RecursionError as exc:
            raise RuntimeScriptError("script too deeply nested", source=self.source, lang=self.lang) from exc


def compile_script(
    spec: Any,
    *,
    variables: frozenset[str] | set[str] = frozenset({"params"}),
    expression_names: frozenset[str] | set[str] = frozenset(),
    context: str = "script",
) -> Script:
    """Read an ES script (``"src"`` or ``{"source", "lang", "params"}``) and compile it, or raise a 400.

    ``variables`` are the names a script may use; ``lang: expression`` scripts also read their params and
    ``expression_names`` (for example a ``bucket_script``'s path variables) as bare names."""
    params: dict[str, Any] = {}
    if isinstance(spec, str):
        source, lang = spec, "painless"
    elif isinstance(spec, dict):
        source, lang, params = _read_object(spec, context)
    else:
        raise ParsingError(f"[{context}] unknown token in script definition")
    if lang not in LANGS:
        raise IllegalArgument(f"script_lang not supported [{lang}]")
    if len(source.encode()) > MAX_SOURCE_CHARS:
        raise IllegalArgument(
            f"exceeded max allowed inline script size in bytes [{MAX_SOURCE_CHARS}] with size "
            f"[{len(source.encode())}] for script [{source[:32]}]"
        )
    names = set(variables)
    if lang == "expression":
        names |= set(params) | set(expression_names)
    try:
        tree = parse(source)
        _check(tree, frozenset(names), source)
    except CompileError as exc:
        exc.extra["lang"] = lang
        raise
    return Script(source, tree, params, lang)


def _read_object(spec: dict[str, Any], context: str) -> tuple[str, str, dict[str, Any]]:
    source: Any = None
    lang: Any = "painless"
    params: Any = {}
    for key, value in spec.items():
        if key == "source":
            source = value
        elif key == "lang":
            lang = value
        elif key == "params":
            params = value
        elif key == "options":
            if not isinstance(value, dict):
                raise ParsingError(f"[{context}] options must be an object")
        elif key == "id":
            raise IllegalArgument("stored scripts are not supported")
        else:
            raise ParsingError(f"[{context}] unknown field [{key}]")
    if source is None:
        raise ParsingError("must specify either [source] for an inline script or [id] for a stored script")
    if not isinstance(source, str):
        raise ParsingError(f"[{context}] source must be a string")
    if not isinstance(lang, str):
        raise ParsingError(f"[{context}] lang must be a string")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ParsingError(f"[{context}] params must be an object")
    return source, lang, params


def _check(node: Expr, names: frozenset[str], source: str) -> None:
    """Refuse, at compile time, names, classes and methods outside the subset."""
    stack: list[Expr] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, Name):
            if item.name not in names:
                raise CompileError(f"cannot resolve symbol [{item.name}]", source=source)
        elif isinstance(item, Static):
            if (item.cls, item.member) not in STATIC_CONSTANTS:
                raise CompileError(f"cannot resolve symbol [{item.cls}.{item.member}]", source=source)
        elif isinstance(item, Call):
            stack.extend(item.args)
            if isinstance(item.obj, Static):
                _check_static_call(item, source)
            else:
                arities = METHODS.get(item.name)
                if arities is None or len(item.args) not in arities:
                    raise CompileError(f"unknown method [{item.name}] with [{len(item.args)}] arguments",
                                       source=source)  # fmt: skip
                stack.append(item.obj)
        elif isinstance(item, Field):
            stack.append(item.obj)
        elif isinstance(item, Index):
            stack.extend((item.obj, item.index))
        elif isinstance(item, Unary):
            stack.append(item.operand)
        elif isinstance(item, Binary):
            stack.extend((item.left, item.right))
        elif isinstance(item, Ternary):
            stack.extend((item.cond, item.then, item.other))
        elif isinstance(item, ClassRef):
            raise CompileError(f"unsupported use of class [{item.cls}]", source=source)
        else:
            assert isinstance(item, Const)


def _check_static_call(call: Call, source: str) -> None:
    assert isinstance(call.obj, Static)
    cls, name, count = call.obj.cls, call.name, len(call.args)
    if cls == "MovingFunctions":
        entry = moving_functions.FUNCTIONS.get(name)
        if entry is None or len(entry[1]) != count:
            raise CompileError(f"unknown static method [{cls}.{name}] with [{count}] arguments", source=source)
        return
    known = STATIC_FUNCTIONS.get((cls, name))
    if known is None or known[0] != count:
        raise CompileError(f"unknown static method [{cls}.{name}] with [{count}] arguments", source=source)
