"""Examples from the ES reference (common options, "Response filtering") plus edge cases."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from server.filter_path import apply_filter_path, parse_filter_path

SEARCH: dict[str, Any] = {
    "took": 3,
    "timed_out": False,
    "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
    "hits": {
        "total": {"value": 2, "relation": "eq"},
        "max_score": 1.6375021,
        "hits": [
            {"_index": "twitter", "_id": "0", "_score": 1.6375021, "_source": {"title": "a", "rating": 5}},
            {"_index": "twitter", "_id": "1", "_score": 1.2, "_source": {"title": "b", "rating": 3}},
        ],
    },
}

STATE: dict[str, Any] = {
    "cluster_name": "es",
    "metadata": {
        "indices": {
            "my-index-000001": {"state": "open", "settings": {"x": 1}, "stats": 3},
            "my-index-000002": {"state": "open", "settings": {"x": 1}},
            "logstash-2024": {"state": "close", "settings": {"x": 1}},
        }
    },
    "routing_table": {
        "indices": {
            "my-index-000001": {
                "shards": {"0": [{"state": "STARTED", "primary": True, "node": "n1"}]},
            }
        }
    },
}


def test_docs_search_example() -> None:
    out = apply_filter_path(SEARCH, "took,hits.hits._id,hits.hits._score")
    assert out == {
        "took": 3,
        "hits": {"hits": [{"_id": "0", "_score": 1.6375021}, {"_id": "1", "_score": 1.2}]},
    }


def test_docs_single_wildcard_partial_name() -> None:
    out = apply_filter_path(STATE, "metadata.indices.*.stat*")
    assert out == {
        "metadata": {
            "indices": {
                "my-index-000001": {"state": "open", "stats": 3},
                "my-index-000002": {"state": "open"},
                "logstash-2024": {"state": "close"},
            }
        }
    }


def test_docs_double_wildcard() -> None:
    out = apply_filter_path(STATE, "routing_table.indices.**.state")
    assert out == {
        "routing_table": {"indices": {"my-index-000001": {"shards": {"0": [{"state": "STARTED"}]}}}}
    }


def test_docs_exclusion() -> None:
    assert apply_filter_path({"count": 5, "_shards": {"total": 1}}, "-_shards") == {"count": 5}


def test_docs_inclusion_and_exclusion_combined() -> None:
    out = apply_filter_path(STATE, "metadata.indices.*.state,-metadata.indices.logstash-*")
    assert out == {
        "metadata": {"indices": {"my-index-000001": {"state": "open"}, "my-index-000002": {"state": "open"}}}
    }


def test_docs_source_under_hits() -> None:
    out = apply_filter_path(SEARCH, "hits.hits._source")
    assert out == {
        "hits": {"hits": [{"_source": {"title": "a", "rating": 5}}, {"_source": {"title": "b", "rating": 3}}]}
    }


def test_partial_name_wildcard_in_hits() -> None:
    out = apply_filter_path(SEARCH, "hits.hits._s*")
    assert out["hits"]["hits"][0] == {"_score": 1.6375021, "_source": {"title": "a", "rating": 5}}


def test_wildcard_in_the_middle_and_multiple_stars() -> None:
    obj = {"aggregations": {"by_host": {"buckets": [1]}, "by_day": {"buckets": [2]}, "total": {"value": 3}}}
    assert apply_filter_path(obj, "aggregations.by_*.buckets") == {
        "aggregations": {"by_host": {"buckets": [1]}, "by_day": {"buckets": [2]}}
    }
    assert apply_filter_path(obj, "aggregations.*_*.buckets") == apply_filter_path(
        obj, "aggregations.by_*.buckets"
    )
    assert apply_filter_path({"a[1]": 1, "a1": 2}, "a[1]") == {"a[1]": 1}  # only '*' is special
    assert apply_filter_path({"a": {"b": 1}, "c": 2}, "*") == {"a": {"b": 1}, "c": 2}


def test_double_wildcard_needs_at_least_one_level() -> None:
    obj = {"a": {"state": 1, "x": {"state": 2, "y": {"state": 3}}}}
    assert apply_filter_path(obj, "a.**.state") == {"a": {"x": {"state": 2, "y": {"state": 3}}}}
    assert apply_filter_path(obj, "**.state") == {"a": {"state": 1, "x": {"state": 2, "y": {"state": 3}}}}
    assert apply_filter_path({"a": {"b": 1}}, "a.**") == {"a": {"b": 1}}


def test_lists_are_transparent_and_nested_lists_too() -> None:
    obj = {"a": [[{"b": 1, "c": 2}], {"b": 3}, {"c": 4}, 5]}
    assert apply_filter_path(obj, "a.b") == {"a": [[{"b": 1}], {"b": 3}]}
    assert apply_filter_path([{"index": "x", "health": "green"}], "index") == [{"index": "x"}]


def test_matched_path_keeps_subtree_whole() -> None:
    assert apply_filter_path(SEARCH, "hits.total,hits") == {"hits": SEARCH["hits"]}
    assert apply_filter_path(SEARCH, "_shards") == {"_shards": SEARCH["_shards"]}


def test_no_match_and_empty_results_give_empty_object() -> None:
    assert apply_filter_path(SEARCH, "nope") == {}
    assert apply_filter_path({"hits": {"hits": []}}, "hits.hits._id") == {}
    assert apply_filter_path({"a": {}}, "a.b") == {}
    assert apply_filter_path({"a": 1}, "a.b") == {}  # a scalar where the path goes deeper
    assert apply_filter_path({"a": 1}, "-a") == {}


def test_exclusion_semantics() -> None:
    obj = {"a": {"b": 1, "c": 2}, "d": {"b": 1}, "e": {}, "f": [], "g": 5, "h": [{"b": 1}, {"b": 1, "c": 1}]}
    assert apply_filter_path(obj, "-*.b") == {"a": {"c": 2}, "e": {}, "f": [], "g": 5, "h": [{"c": 1}]}
    assert apply_filter_path(obj, "-a.b,-g") == {k: v for k, v in obj.items() if k not in ("a", "g")} | {
        "a": {"c": 2}
    }
    assert apply_filter_path({"g": 5}, "-g.x") == {"g": 5}  # scalars survive partial exclusions


def test_exclusion_under_hits() -> None:
    out = apply_filter_path(SEARCH, "-hits.hits._source,-_shards,-timed_out")
    assert out["hits"]["hits"][0] == {"_index": "twitter", "_id": "0", "_score": 1.6375021}
    assert set(out) == {"took", "hits"}


def test_escaped_dot_matches_dotted_field_name() -> None:
    obj = {"a.b": {"c": 1}, "a": {"b": {"c": 2}}}
    assert apply_filter_path(obj, "a\\.b.c") == {"a.b": {"c": 1}}
    assert apply_filter_path(obj, "a.b.c") == {"a": {"b": {"c": 2}}}


def test_shorter_path_wins_and_list_of_params() -> None:
    assert apply_filter_path(SEARCH, ["hits.hits._id", "hits"]) == {"hits": SEARCH["hits"]}
    assert apply_filter_path(SEARCH, ["took", "timed_out"]) == {"took": 3, "timed_out": False}


def test_input_is_not_modified() -> None:
    before = copy.deepcopy(SEARCH)
    apply_filter_path(SEARCH, "-hits.hits._source,took")
    assert before == SEARCH


@pytest.mark.parametrize("blank", ["", " , ", ",-"])
def test_blank_filter_keeps_everything(blank: str) -> None:
    assert apply_filter_path(SEARCH, blank) == SEARCH


def test_parse_filter_path() -> None:
    assert parse_filter_path("took, -_shards ,hits.hits._id,") == (["took", "hits.hits._id"], ["_shards"])
    assert parse_filter_path(["a,b", "-c"]) == (["a", "b"], ["c"])
