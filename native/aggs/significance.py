"""Significance heuristics of ``significant_terms`` / ``significant_text``, scored as ES scores them.

Each heuristic maps ``(subset_df, subset_size, superset_df, superset_size)`` to a score; a term is
reported only when its score is positive (ES's reduce drops the rest). ``mutual_information`` and
``chi_square`` count a term rarer in the subset than in the rest of the background as
``-Infinity`` unless ``include_negatives``; with ``background_is_superset: false`` the subset is added
to the background counts (they are disjoint sets then).
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any

from native.errors import IllegalArgument, ScriptingDisabled, XContentParseError

HEURISTICS = ("jlh", "mutual_information", "chi_square", "gnd", "percentage", "script_heuristic")
_PARAMS = {
    "jlh": set(),
    "percentage": set(),
    "mutual_information": {"include_negatives", "background_is_superset"},
    "chi_square": {"include_negatives", "background_is_superset"},
    "gnd": {"background_is_superset"},
}


@dataclass(frozen=True)
class Heuristic:
    name: str = "jlh"
    include_negatives: bool = False
    background_is_superset: bool = True

    def score(self, subset_df: int, subset_size: int, superset_df: int, superset_size: int) -> float:
        _check(subset_df, subset_size, superset_df, superset_size, self.name)
        if self.name == "jlh":
            return _jlh(subset_df, subset_size, superset_df, superset_size)
        if self.name == "percentage":
            return 0.0 if superset_df == 0 else subset_df / superset_df
        if self.name == "gnd":
            return self._gnd(subset_df, subset_size, superset_df, superset_size)
        n = _frequencies(subset_df, subset_size, superset_df, superset_size, self.background_is_superset)
        negative = not self.include_negatives and _ratio(n["11"], n["_1"]) < _ratio(n["10"], n["_0"])
        if self.name == "chi_square":
            if negative:
                return -math.inf
            denominator = n["_1"] * n["1_"] * n["0_"] * n["_0"]
            if denominator == 0:
                return math.nan
            return n["N"] * (n["11"] * n["00"] - n["01"] * n["10"]) ** 2 / denominator
        score = (
            _mi_term(n["00"], n["0_"], n["_0"], n["N"])
            + _mi_term(n["01"], n["0_"], n["_1"], n["N"])
            + _mi_term(n["10"], n["1_"], n["_0"], n["N"])
            + _mi_term(n["11"], n["1_"], n["_1"], n["N"])
        ) / math.log(2)
        if math.isnan(score) or negative:
            return -math.inf
        return score

    def _gnd(self, subset_df: int, subset_size: int, superset_df: int, superset_size: int) -> float:
        fx, fy, fxy, total = float(superset_df), float(subset_size), float(subset_df), float(superset_size)
        if not self.background_is_superset:
            fx, total = fx + fxy, total + fy
        if fxy == 0:
            return 0.0
        if fx == fy == fxy:
            return 1.0
        numerator = max(math.log(fx), math.log(fy)) - math.log(fxy)
        denominator = math.log(total) - min(math.log(fx), math.log(fy))
        if denominator == 0:
            return 0.0
        return math.exp(-numerator / denominator)


def parse_heuristic(kind: str, body: dict[str, Any]) -> Heuristic:
    """The heuristic named in an aggregation body (JLH when none is); two are a 400."""
    found = [key for key in body if key in HEURISTICS]
    if len(found) > 1:
        raise XContentParseError(f"[{kind}] only one significance heuristic may be given, found {found}")
    if not found:
        return Heuristic()
    name = found[0]
    if name == "script_heuristic":
        raise ScriptingDisabled("cannot execute [inline] scripts")
    params = body[name]
    if not isinstance(params, dict):
        raise XContentParseError(f"[{name}] expected an object, found [{params}]")
    for key, value in params.items():
        if key not in _PARAMS[name]:
            raise XContentParseError(f"[{name}] unknown field [{key}]")
        if not isinstance(value, bool):
            raise XContentParseError(f"[{name}] failed to parse field [{key}]")
    return Heuristic(
        name, bool(params.get("include_negatives", False)), bool(params.get("background_is_superset", True))
    )


def unknown_field(kind: str, key: str, allowed: set[str]) -> XContentParseError:
    close = difflib.get_close_matches(key, sorted(allowed), n=1, cutoff=0.6)
    hint = f" did you mean [{close[0]}]?" if close else ""
    return XContentParseError(f"[{kind}] unknown field [{key}]{hint}")


def _check(subset_df: int, subset_size: int, superset_df: int, superset_size: int, name: str) -> None:
    if subset_df < 0 or subset_size < 0 or superset_df < 0 or superset_size < 0:
        raise IllegalArgument(f"Frequencies of subset and superset must be positive in {name}.getScore()")
    if subset_df > subset_size:
        raise IllegalArgument(f"subsetFreq > subsetSize, in {name}")
    if superset_df > superset_size:
        raise IllegalArgument(f"supersetFreq > supersetSize, in {name}")


def _jlh(subset_df: int, subset_size: int, superset_df: int, superset_size: int) -> float:
    if subset_size == 0 or superset_size == 0:
        return 0.0
    superset_df = max(superset_df, 1)  # ES: avoids dividing by zero (a background filter may miss the term)
    subset_p = subset_df / subset_size
    superset_p = superset_df / superset_size
    absolute = subset_p - superset_p
    if absolute <= 0:
        return 0.0
    return absolute * (subset_p / superset_p)


def _frequencies(
    subset_df: int, subset_size: int, superset_df: int, superset_size: int, superset: bool
) -> dict[str, float]:
    if superset:
        n00 = superset_size - superset_df - (subset_size - subset_df)
        n01 = subset_size - subset_df
        n10 = superset_df - subset_df
        n11 = subset_df
        n0_ = superset_size - superset_df
        n1_ = superset_df
        n_0 = superset_size - subset_size
        n_1 = subset_size
        total = superset_size
    else:
        n00 = superset_size - superset_df
        n01 = subset_size - subset_df
        n10 = superset_df
        n11 = subset_df
        n0_ = superset_size - superset_df + subset_size - subset_df
        n1_ = superset_df + subset_df
        n_0 = superset_size
        n_1 = subset_size
        total = superset_size + subset_size
    return {"00": float(n00), "01": float(n01), "10": float(n10), "11": float(n11), "0_": float(n0_),
            "1_": float(n1_), "_0": float(n_0), "_1": float(n_1), "N": float(total)}  # fmt: skip


def _ratio(a: float, b: float) -> float:
    if b == 0:
        return math.nan if a == 0 else math.copysign(math.inf, a)
    return a / b


def _mi_term(nxy: float, nx_: float, n_y: float, total: float) -> float:
    numerator = abs(total * nxy)
    denominator = abs(nx_ * n_y)
    factor = abs(nxy / total) if total else math.nan
    if numerator < 1e-7 and factor < 1e-7:
        return 0.0
    if denominator == 0:
        return math.inf
    return factor * math.log(numerator / denominator)
