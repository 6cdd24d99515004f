"""The painless-subset evaluator: Java arithmetic, the accepted constructs, refusals, MovingFunctions."""

from __future__ import annotations

import math
from typing import Any

import pytest

from native.errors import IllegalArgument, ParsingError
from native.painless import CompileError, RuntimeScriptError, ScriptError, compile_script
from native.painless import moving_functions as mf


def run(source: str, params: dict[str, Any] | None = None, **variables: Any) -> Any:
    names = {"params", *variables}
    return compile_script({"source": source, "params": params or {}}, variables=names).run(variables)


@pytest.mark.parametrize(
    ("source", "params", "expected"),
    [
        ("params.a + params.b", {"a": 2, "b": 3}, 5),
        ("params.a / params.b", {"a": 7, "b": 2}, 3),  # long division truncates
        ("params.a / params.b", {"a": -7, "b": 2}, -3),  # toward zero
        ("params.a % params.b", {"a": -7, "b": 2}, -1),  # sign of the dividend
        ("params.a / params.b", {"a": 7.0, "b": 2}, 3.5),
        ("params.a / 0.0", {"a": 1}, math.inf),
        ("1 + 2 * 3 - 4 / 2", {}, 5),
        ("(1 + 2) * 3", {}, 9),
        ("-params.a * 2", {"a": 4}, -8),
        ("9223372036854775807 + 1", {}, -9223372036854775808),  # wraps like a Java long
        ("params.x > 1 && params.y < 1 || false", {"x": 2, "y": 0}, True),
        ("!(params.x == 1)", {"x": 1}, False),
        ("params.x != null ? params.x : 'none'", {}, "none"),
        ("params.s + 1", {"s": "n"}, "n1"),
        ("'v' + 1.5", {}, "v1.5"),
        ("'' + 1e10 + ' ' + 0.0005 + ' ' + params.n + ' ' + null", {"n": True}, "1.0E10 5.0E-4 true null"),
        ("params.s.toLowerCase().startsWith('ab')", {"s": "ABC"}, True),
        ("params.s.contains('b') && params.s.endsWith('c')", {"s": "abc"}, True),
        ("params.s.length() + params.l.size()", {"s": "abcd", "l": [1, 2]}, 6),
        ("params.l.contains(2)", {"l": [1, 2]}, True),
        ("params.m.containsKey('k') && params.m.k == 3", {"m": {"k": 3}}, True),
        ("params['a b'] * 2", {"a b": 4}, 8),
        ("params.missing?.length()", {}, None),
        ("params.s?.length()", {"s": "xyz"}, 3),
        ("params.s.equals('x')", {"s": "x"}, True),
        ("1 == 1.0", {}, True),
        ("Math.max(params.a, 3) + Math.min(1, 2)", {"a": 5}, 6),
        ("Math.abs(-2.5) + Math.sqrt(16) + Math.pow(2, 10)", {}, 1030.5),
        ("Math.round(2.5) + Math.round(-2.5)", {}, 1),  # Java rounds half up
        ("Double.isNaN(params.v)", {"v": math.nan}, True),
        ("return params.a * 2;", {"a": 21}, 42),
        ("true ? 1 : false ? 2 : 3", {}, 1),
        ("/* comment */ 1 // trailing", {}, 1),
    ],
)
def test_evaluates_like_painless(source: str, params: dict[str, Any], expected: Any) -> None:
    result = run(source, params)
    if isinstance(expected, float) and math.isinf(expected):
        assert result == expected
    else:
        assert result == expected and type(result) is type(expected), (result, expected)


@pytest.mark.parametrize(
    ("source", "named"),
    [
        ("params.x = 1", "[=]"),
        ("params.x++", "[++]"),
        ("if (params.x) 1", "[if]"),
        ("def x = 1; x", "[def]"),
        ("for (;;) 1", "[for]"),
        ("new ArrayList()", "[new]"),
        ("params.x & 1", "[&]"),
        ("x -> x", "[->]"),
        ("{ 1 }", "[{]"),
        ("doc['f'].value", "[doc]"),
        ("System.exit(0)", "[System]"),
        ("params.x.getClass()", "[getClass]"),
        ("Math.foo(1)", "[Math.foo]"),
        ("Math.max(1)", "[Math.max]"),
        ("MovingFunctions.windowMax(values)", "[MovingFunctions.windowMax]"),
        ("params.s ==~ /a/", "[==~]"),
        ("1 +", "end of script"),
        ("", "empty script"),
        ("'unterminated", "unterminated string"),
        ("1 2", "[2]"),
    ],
)
def test_refuses_outside_the_subset(source: str, named: str) -> None:
    with pytest.raises(CompileError) as err:
        compile_script(source)
    assert err.value.status == 400 and err.value.es_type == "script_exception"
    assert err.value.reason == "compile error"
    assert named in err.value.cause
    body = err.value.to_dict()
    assert body["caused_by"]["type"] == "illegal_argument_exception" and named in body["caused_by"]["reason"]
    assert body["lang"] == "painless" and body["script"] == source


def test_nesting_is_bounded() -> None:
    with pytest.raises(CompileError, match="compile error"):
        compile_script("(" * 500 + "1" + ")" * 500)
    with pytest.raises(CompileError):
        compile_script("-" * 500 + "1")


@pytest.mark.parametrize(
    ("source", "params", "message"),
    [
        ("params.a / params.b", {"a": 1, "b": 0}, "/ by zero"),
        ("params.a.length()", {}, "on null"),
        ("params.a + params.b", {"a": 1, "b": True}, "cannot apply"),
        ("params.a ? 1 : 2", {"a": 1}, "boolean"),
        ("params.l[5]", {"l": [1]}, "out of bounds"),
        ("params.a.size()", {"a": 1}, "dynamic method"),
    ],
)
def test_runtime_errors_are_script_exceptions(source: str, params: dict[str, Any], message: str) -> None:
    with pytest.raises(RuntimeScriptError) as err:
        run(source, params)
    assert err.value.status == 400 and err.value.reason == "runtime error" and message in err.value.cause


def test_script_object_forms() -> None:
    assert compile_script("1 + 1").run({}) == 2
    assert compile_script({"source": "params.a", "params": {"a": 3}}).run({}) == 3
    assert compile_script({"source": "params.a", "lang": "painless", "params": {"a": 3}}).run({"params": {"a": 4}}) == 4
    assert compile_script({"source": "a * 2", "lang": "expression", "params": {"a": 3}}).run({}) == 6
    with pytest.raises(IllegalArgument, match=r"script_lang not supported \[python\]"):
        compile_script({"source": "1", "lang": "python"})
    with pytest.raises(IllegalArgument, match="stored scripts"):
        compile_script({"id": "my_script"})
    with pytest.raises(ParsingError, match=r"unknown field \[sauce\]"):
        compile_script({"sauce": "1"})
    with pytest.raises(ParsingError, match="must specify either"):
        compile_script({"params": {}})
    with pytest.raises(IllegalArgument, match="max allowed inline script size"):
        compile_script("1+" * 40000 + "1")
    with pytest.raises(ScriptError):
        compile_script("values[0]")  # values only exists for moving_fn


# -- MovingFunctions, against the formulas written out here -------------------------------------------

WINDOW = [3.0, math.nan, 5.0, 1.0, 8.0, 2.0]
REAL = [3.0, 5.0, 1.0, 8.0, 2.0]


def test_moving_functions_match_their_formulas() -> None:
    assert mf.window_max(WINDOW) == 8.0 and mf.window_min(WINDOW) == 1.0 and mf.window_sum(WINDOW) == 19.0
    assert mf.unweighted_avg(WINDOW) == pytest.approx(19.0 / 5)
    weights = range(1, len(REAL) + 1)
    assert mf.linear_weighted_avg(WINDOW) == pytest.approx(
        sum(w * v for w, v in zip(weights, REAL, strict=True)) / (1 + sum(weights))
    )
    avg = sum(REAL) / len(REAL)
    assert mf.std_dev(WINDOW, avg) == pytest.approx(math.sqrt(sum((v - avg) ** 2 for v in REAL) / len(REAL)))
    expected = REAL[0]
    for v in REAL[1:]:
        expected = 0.3 * v + 0.7 * expected
    assert mf.ewma(WINDOW, 0.3) == pytest.approx(expected)
    s, b = REAL[0], 0.0
    for v in REAL[1:]:
        last_s = s
        s = 0.5 * v + 0.5 * (last_s + b)
        b = 0.2 * (s - last_s) + 0.8 * b
    assert mf.holt(WINDOW, 0.5, 0.2) == pytest.approx(s)
    for function in (mf.window_max, mf.window_min, mf.unweighted_avg, mf.linear_weighted_avg):
        assert math.isnan(function([]))
    assert mf.window_sum([]) == 0.0 and math.isnan(mf.ewma([], 0.5)) and math.isnan(mf.holt([], 0.5, 0.5))


def test_holt_winters_additive_and_its_data_requirement() -> None:
    values = [1.0, 2.0, 3.0, 1.5, 2.5, 3.5, 2.0, 3.0]
    period, alpha, beta, gamma, pad = 2, 0.5, 0.3, 0.4, 1e-10
    vs = [v + pad for v in values]
    s = sum(vs[:period]) / period
    b = sum((vs[i + period] - vs[i]) / period for i in range(period)) / period
    seasonal = [vs[i] / s for i in range(period)] + [0.0] * (len(vs) - period)
    last_s, last_b = s, 0.0
    for i in range(period, len(vs)):
        s = alpha * (vs[i] - seasonal[i - period]) + (1 - alpha) * (last_s + last_b)
        b = beta * (s - last_s) + (1 - beta) * last_b
        seasonal[i] = gamma * (vs[i] - (last_s - last_b)) + (1 - gamma) * seasonal[i - period]
        last_s, last_b = s, b
    expected = s + b + seasonal[len(vs) - period]
    source = "MovingFunctions.holtWinters(values, 0.5, 0.3, 0.4, 2, false)"
    assert run(source, values=values) == pytest.approx(expected)
    with pytest.raises(RuntimeScriptError) as err:
        run(source, values=values[:3])
    assert "requires at least" in err.value.cause


def test_moving_functions_through_scripts() -> None:
    assert run("MovingFunctions.max(values)", values=[1.0, 4.0]) == 4.0
    assert run("MovingFunctions.stdDev(values, MovingFunctions.unweightedAvg(values))", values=[2.0, 4.0]) == 1.0
    assert run("values.length > 0 ? values[0] : Double.NaN", values=[7.0]) == 7.0
    assert math.isnan(run("values.length > 0 ? values[0] : Double.NaN", values=[]))
    with pytest.raises(RuntimeScriptError) as err:
        run("MovingFunctions.ewma(values, 'x')", values=[1.0])
    assert "double" in err.value.cause


def test_ingest_style_conditions_over_ctx() -> None:
    """The form ingest processors' ``if`` conditions take: a boolean over ``ctx``."""
    doc = {"network": {"name": "Guest"}, "tags": ["prod", "eu"], "count": 7, "host": None}
    cases = {
        "ctx.network?.name == 'Guest'": True,
        "ctx.missing?.name == 'Guest'": False,
        "ctx.tags != null && ctx.tags.contains('prod')": True,
        "ctx.containsKey('count') && ctx.count > 5": True,
        "ctx.host == null || ctx.host.startsWith('web')": True,
        "ctx['network']['name'].toLowerCase().equals('guest')": True,
        "!ctx.tags.isEmpty() && ctx.tags.size() == 2 && ctx.tags[1] == 'eu'": True,
    }
    for source, expected in cases.items():
        script = compile_script(source, variables={"ctx", "params"})
        assert script.run({"ctx": doc}) is expected, source
    with pytest.raises(CompileError):
        compile_script("ctx.count += 1", variables={"ctx"})
