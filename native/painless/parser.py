"""Parser of the painless subset: one expression, optionally written as ``return <expr>;``.

Precedence, lowest first (as Java's): ``?:`` (right-associative), ``||``, ``&&``, ``==`` ``!=``,
``<`` ``<=`` ``>`` ``>=``, ``+`` ``-``, ``*`` ``/`` ``%``, unary ``!`` ``-`` ``+``, then postfix
field access (``.``, null-safe ``?.``), indexing ``[]`` and method calls. Anything else painless has
(statements, declarations, assignment, loops, lambdas, ``new``, bitwise operators, regexes) is refused
with a compile error naming it; nesting deeper than ``MAX_DEPTH`` is refused too.
"""

from __future__ import annotations

from native.painless.ast import Binary, Call, ClassRef, Const, Expr, Field, Index, Name, Static, Ternary, Unary
from native.painless.errors import CompileError
from native.painless.lexer import Token, tokenize

MAX_DEPTH = 64
_KEYWORDS = frozenset(
    {"if", "else", "for", "while", "do", "def", "var", "new", "try", "catch", "throw", "break", "continue",
     "instanceof", "int", "long", "double", "float", "boolean", "String", "short", "byte", "char", "void",
     "in", "this", "super", "class", "import", "static", "final"}
)  # fmt: skip
_CONSTANTS = {"true": True, "false": False, "null": None}
_BINARY = (
    ("||",),
    ("&&",),
    ("==", "!="),
    ("<", "<=", ">", ">="),
    ("+", "-"),
    ("*", "/", "%"),
)
_CLASSES = frozenset({"Math", "Double", "Integer", "Long", "MovingFunctions"})


class Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.at = 0
        self.depth = 0

    # -- entry -----------------------------------------------------------------------------------------

    def parse_script(self) -> Expr:
        if self._peek().kind == "end":
            raise CompileError("cannot generate an empty script", source=self.source)
        if self._is_name("return"):
            self.at += 1
        expr = self.expression()
        while self._peek().text == ";" and self._peek().kind == "op":
            self.at += 1
        token = self._peek()
        if token.kind != "end":
            raise self._refuse(token)
        return expr

    # -- expressions -----------------------------------------------------------------------------------

    def expression(self) -> Expr:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise CompileError(f"script nesting deeper than [{MAX_DEPTH}]", source=self.source,
                               position=self._peek().pos)  # fmt: skip
        try:
            cond = self._binary(0)
            if self._take_op("?"):
                then = self.expression()
                self._expect(":")
                return Ternary(cond, then, self.expression())
            return cond
        finally:
            self.depth -= 1

    def _binary(self, level: int) -> Expr:
        if level == len(_BINARY):
            return self._unary()
        left = self._binary(level + 1)
        while self._peek().kind == "op" and self._peek().text in _BINARY[level]:
            op = self._next().text
            left = Binary(op, left, self._binary(level + 1))
        return left

    def _unary(self) -> Expr:
        token = self._peek()
        if token.kind == "op" and token.text in ("!", "-", "+"):
            self.at += 1
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise CompileError(f"script nesting deeper than [{MAX_DEPTH}]", source=self.source,
                                   position=token.pos)  # fmt: skip
            try:
                operand = self._unary()
            finally:
                self.depth -= 1
            if token.text == "-" and isinstance(operand, Const) and type(operand.value) in (int, float):
                return Const(-operand.value)
            return Unary(token.text, operand)
        return self._postfix(self._primary())

    def _primary(self) -> Expr:
        token = self._next()
        if token.kind in ("num", "str"):
            return Const(token.value)
        if token.kind == "name":
            if token.text in _CONSTANTS:
                return Const(_CONSTANTS[token.text])
            if token.text in _KEYWORDS or token.text == "return":
                raise self._refuse(token)
            if token.text in _CLASSES:
                return ClassRef(token.text)
            if token.text[0].isupper():
                raise CompileError(f"unsupported class [{token.text}]", source=self.source, position=token.pos)
            return Name(token.text)
        if token.kind == "op" and token.text == "(":
            inner = self.expression()
            self._expect(")")
            return inner
        raise self._refuse(token)

    def _postfix(self, expr: Expr) -> Expr:
        while True:
            token = self._peek()
            if token.kind == "op" and token.text in (".", "?."):
                self.at += 1
                name = self._next()
                if name.kind != "name":
                    raise self._refuse(name)
                null_safe = token.text == "?."
                if isinstance(expr, ClassRef):
                    if null_safe:
                        raise self._refuse(token)
                    holder = Static(expr.cls, name.text)
                    if self._take_op("("):
                        expr = Call(holder, name.text, self._arguments())
                    else:
                        expr = holder
                elif self._take_op("("):
                    expr = Call(expr, name.text, self._arguments(), null_safe)
                else:
                    expr = Field(expr, name.text, null_safe)
            elif token.kind == "op" and token.text == "[":
                if isinstance(expr, ClassRef):
                    raise self._refuse(token)
                self.at += 1
                index = self.expression()
                self._expect("]")
                expr = Index(expr, index)
            else:
                if isinstance(expr, ClassRef):
                    raise CompileError(f"unsupported use of class [{expr.cls}]", source=self.source,
                                       position=token.pos)  # fmt: skip
                return expr

    def _arguments(self) -> tuple[Expr, ...]:
        args: list[Expr] = []
        if self._take_op(")"):
            return ()
        while True:
            args.append(self.expression())
            if self._take_op(")"):
                return tuple(args)
            self._expect(",")

    # -- tokens ----------------------------------------------------------------------------------------

    def _peek(self) -> Token:
        return self.tokens[self.at]

    def _next(self) -> Token:
        token = self.tokens[self.at]
        if token.kind != "end":
            self.at += 1
        return token

    def _is_name(self, text: str) -> bool:
        token = self._peek()
        return token.kind == "name" and token.text == text

    def _take_op(self, text: str) -> bool:
        token = self._peek()
        if token.kind == "op" and token.text == text:
            self.at += 1
            return True
        return False

    def _expect(self, text: str) -> None:
        if not self._take_op(text):
            token = self._peek()
            if token.kind == "end":
                raise CompileError(f"unexpected end of script, expected [{text}]", source=self.source,
                                   position=token.pos)  # fmt: skip
            raise self._refuse(token)

    def _refuse(self, token: Token) -> CompileError:
        if token.kind == "end":
            return CompileError("unexpected end of script", source=self.source, position=token.pos)
        if token.kind == "name" and (token.text in _KEYWORDS or token.text == "return"):
            return CompileError(f"unsupported painless construct [{token.text}]", source=self.source,
                                position=token.pos)  # fmt: skip
        if token.kind == "op":
            return CompileError(f"unsupported painless operator [{token.text}]", source=self.source,
                                position=token.pos)  # fmt: skip
        return CompileError(f"unexpected token [{token.text}]", source=self.source, position=token.pos)


def parse(source: str) -> Expr:
    return Parser(source).parse_script()
