"""The high-level DSL (``elasticsearch.dsl``, bundled in elasticsearch-py) against the real server.

A ``Document`` class defines the index; ``init()`` creates it, ``save()`` / ``helpers.bulk`` load it, and
``Search`` / ``Q`` / ``A`` drive queries and aggregations. Every expected answer is computed in plain Python
from the same documents. The 8.x client runs the core flow in a subprocess when ``QUIDDITCH_ES8_PYTHON``
(else ``/tmp/es8/bin/python``) has it with the DSL (``elasticsearch.dsl``, bundled since 8.18, or the
separate ``elasticsearch-dsl`` package).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import textwrap
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import elasticsearch
import pytest
from elasticsearch import Elasticsearch, helpers
from elasticsearch.dsl import (
    A,
    Date,
    Document,
    Integer,
    Keyword,
    MultiSearch,
    Q,
    Search,
    Text,
    UpdateByQuery,
    connections,
)

from tests.conftest import ServerProcess, running_server

pytestmark = [pytest.mark.compat, pytest.mark.timeout(120)]

ALIAS = "quidditch-dsl"
INDEX = "dsl-articles"
ARTICLE_COUNT = 240
SAVED_ONE_BY_ONE = 40
START = datetime(2024, 1, 1, tzinfo=UTC)
CATEGORIES = ["news", "sports", "tech", "science", "travel"]
TAGS = ["a", "b", "c", "d"]
AUTHORS = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra"]
TITLE_WORDS = ["quick", "brown", "fox", "lazy", "dog", "python", "search", "engine", "river", "mountain"]


class Article(Document):
    title = Text()
    author = Text(fields={"raw": Keyword()})
    category = Keyword()
    tags = Keyword(multi=True)
    published = Date(default_timezone="UTC")
    views = Integer()

    class Index:
        name = INDEX
        using = ALIAS
        settings = {"number_of_shards": 2, "number_of_replicas": 0}

    def is_popular(self) -> bool:
        return bool(self.views >= 5000)


def make_articles(count: int = ARTICLE_COUNT, seed: int = 99) -> dict[str, dict[str, Any]]:
    """Unique ``views`` (so sorting on it is total); ``published`` whole hours over ~6 months."""
    rng = random.Random(seed)
    views = rng.sample(range(10_000), count)
    articles = {}
    for i in range(count):
        articles[f"a{i:03d}"] = {
            "title": " ".join(rng.sample(TITLE_WORDS, 4)),
            "author": rng.choice(AUTHORS),
            "category": rng.choice(CATEGORIES),
            "tags": sorted(rng.sample(TAGS, rng.randint(1, 3))),
            "published": START + timedelta(hours=rng.randrange(24 * 180)),
            "views": views[i],
        }
    return articles


def load(es: Elasticsearch, index: str, articles: dict[str, dict[str, Any]]) -> None:
    """``init()``, the first 40 through ``Document.save()``, the rest through ``helpers.bulk``."""
    Article.init(index=index)
    items = list(articles.items())
    for doc_id, fields in items[:SAVED_ONE_BY_ONE]:
        assert Article(meta={"id": doc_id}, **fields).save(index=index) == "created"
    actions = (Article(meta={"id": k, "index": index}, **v).to_dict(include_meta=True) for k, v in items[40:])
    ok, errors = helpers.bulk(es, actions, chunk_size=100)
    assert (ok, errors) == (len(items) - SAVED_ONE_BY_ONE, [])
    Article._index.clone(name=index).refresh()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("dsl") / "data") as srv:
        yield srv


@pytest.fixture(scope="module")
def es(server: ServerProcess) -> Iterator[Elasticsearch]:
    client = Elasticsearch(server.url, request_timeout=30)
    connections.add_connection(ALIAS, client)
    yield client
    connections.remove_connection(ALIAS)
    client.close()


@pytest.fixture(scope="module")
def articles(es: Elasticsearch) -> dict[str, dict[str, Any]]:
    data = make_articles()
    load(es, INDEX, data)
    return data


def ids_of(search: Search) -> set[str]:
    return {hit.meta.id for hit in search[:1000]}


# -- index and single documents ---------------------------------------------------------------------------


def test_init_creates_mappings_and_is_idempotent(es: Elasticsearch, articles: dict[str, Any]) -> None:
    properties = es.indices.get_mapping(index=INDEX)[INDEX]["mappings"]["properties"]
    assert properties["title"] == {"type": "text"}
    assert properties["author"] == {"type": "text", "fields": {"raw": {"type": "keyword"}}}
    assert properties["category"] == {"type": "keyword"}
    assert properties["tags"] == {"type": "keyword"}
    assert properties["published"] == {"type": "date"}
    assert properties["views"] == {"type": "integer"}
    assert Article._index.exists()
    settings = es.indices.get_settings(index=INDEX)[INDEX]["settings"]["index"]
    assert str(settings["number_of_shards"]) == "2"
    Article.init()  # the index exists now: the DSL compares settings and puts the mapping again
    assert es.indices.get_mapping(index=INDEX)[INDEX]["mappings"]["properties"]["views"] == {"type": "integer"}


def test_save_get_update_delete(es: Elasticsearch, articles: dict[str, Any]) -> None:
    doc = Article(meta={"id": "extra"}, title="a brand new fox", category="news", tags=["a"], views=3)
    doc.published = datetime(2024, 6, 1, 12, 30, tzinfo=UTC)
    assert doc.save(refresh=True) == "created"
    assert doc.meta.version == 1
    doc.views = 4
    assert doc.save(refresh=True) == "updated"
    assert doc.meta.version == 2

    got = Article.get(id="extra")
    assert got.title == "a brand new fox"
    assert got.views == 4
    assert got.published == datetime(2024, 6, 1, 12, 30, tzinfo=UTC)
    assert list(got.tags) == ["a"]

    got.update(views=5, refresh=True)
    assert Article.get(id="extra").views == 5
    assert Article.exists(id="extra")

    first, missing = Article.mget(["a000", "nope"], missing="none")
    assert first.meta.id == "a000" and first.title == articles["a000"]["title"]
    assert missing is None

    got.delete(refresh=True)
    assert not Article.exists(id="extra")
    with pytest.raises(elasticsearch.NotFoundError):
        Article.get(id="extra")
    assert Article.search().count() == ARTICLE_COUNT


# -- searches -------------------------------------------------------------------------------------------


def _words(doc: dict[str, Any]) -> set[str]:
    return set(doc["title"].split())


QUERIES: list[tuple[str, Callable[[], Any], Callable[[dict[str, Any]], bool]]] = [
    ("match", lambda: Q("match", title="fox"), lambda d: "fox" in _words(d)),
    ("match_or", lambda: Q("match", title="fox river"), lambda d: bool({"fox", "river"} & _words(d))),
    (
        "match_and",
        lambda: Q("match", title={"query": "fox river", "operator": "and"}),
        lambda d: {"fox", "river"} <= _words(d),
    ),
    ("match_phrase_author", lambda: Q("match_phrase", author="grace hopper"), lambda d: d["author"] == "Grace Hopper"),
    ("term", lambda: Q("term", category="tech"), lambda d: d["category"] == "tech"),
    ("terms_multi", lambda: Q("terms", tags=["a", "d"]), lambda d: bool({"a", "d"} & set(d["tags"]))),
    ("term_subfield", lambda: Q("term", author__raw="Alan Turing"), lambda d: d["author"] == "Alan Turing"),
    (
        "range",
        lambda: Q("range", views={"gte": 2500, "lt": 7000}),
        lambda d: 2500 <= d["views"] < 7000,
    ),
    (
        "range_date",
        lambda: Q("range", published={"gte": "2024-03-01", "lt": "2024-04-01"}),
        lambda d: datetime(2024, 3, 1, tzinfo=UTC) <= d["published"] < datetime(2024, 4, 1, tzinfo=UTC),
    ),
    (
        "and",
        lambda: Q("match", title="fox") & Q("term", category="news"),
        lambda d: "fox" in _words(d) and d["category"] == "news",
    ),
    (
        "or",
        lambda: Q("term", category="news") | Q("range", views={"gte": 9000}),
        lambda d: d["category"] == "news" or d["views"] >= 9000,
    ),
    ("not", lambda: ~Q("term", category="news"), lambda d: d["category"] != "news"),
    (
        "bool",
        lambda: Q(
            "bool",
            must=[Q("match", title="dog")],
            filter=[Q("range", views={"lt": 8000})],
            must_not=[Q("term", category="sports")],
            should=[Q("term", tags="a"), Q("term", tags="b")],
            minimum_should_match=1,
        ),
        lambda d: (
            "dog" in _words(d) and d["views"] < 8000 and d["category"] != "sports" and bool({"a", "b"} & set(d["tags"]))
        ),
    ),
]


@pytest.mark.parametrize(("name", "query", "predicate"), QUERIES, ids=[q[0] for q in QUERIES])
def test_queries_match_plain_python(
    articles: dict[str, dict[str, Any]],
    name: str,
    query: Callable[[], Any],
    predicate: Callable[[dict[str, Any]], bool],
) -> None:
    expected = {k for k, d in articles.items() if predicate(d)}
    assert expected, f"{name}: the seed must produce matches"
    search = Article.search().query(query())
    assert search.count() == len(expected)
    assert ids_of(search) == expected
    response = search.execute()
    assert response.hits.total.value == len(expected)
    assert response.success()


def test_filter_exclude_chain(articles: dict[str, dict[str, Any]]) -> None:
    search = (
        Article.search()
        .query("match", title="python")
        .filter("terms", category=["tech", "science"])
        .exclude("range", views={"gte": 5000})
    )
    expected = {
        k
        for k, d in articles.items()
        if "python" in _words(d) and d["category"] in ("tech", "science") and d["views"] < 5000
    }
    assert ids_of(search) == expected
    assert search.count() == len(expected)


def test_hits_are_documents_sorted_and_paginated(articles: dict[str, dict[str, Any]]) -> None:
    ordered = sorted(articles, key=lambda k: -articles[k]["views"])
    response = Article.search().sort("-views")[10:20].execute()
    hits = list(response)
    assert [h.meta.id for h in hits] == ordered[10:20]
    for hit in hits:
        assert isinstance(hit, Article)
        source = articles[hit.meta.id]
        assert hit.title == source["title"] and hit.views == source["views"]
        assert hit.published == source["published"]
        assert hit.is_popular() == (source["views"] >= 5000)
        assert hit.meta.index == INDEX
        assert list(hit.meta.sort) == [source["views"]]

    ascending = Article.search().sort("category", {"views": {"order": "asc"}})[:1000].execute()
    assert [h.meta.id for h in ascending] == sorted(
        articles, key=lambda k: (articles[k]["category"], articles[k]["views"])
    )

    only_title = Article.search().source(["title"]).query("term", category="news")[:3].execute()
    for hit in only_title:
        assert hit.to_dict() == {"title": articles[hit.meta.id]["title"]}


def test_scored_match_and_highlight(articles: dict[str, dict[str, Any]]) -> None:
    response = Article.search().query("match", title="mountain").highlight("title").execute()
    scores = [h.meta.score for h in response]
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)
    for hit in response:
        assert hit.meta.highlight.title == [hit.title.replace("mountain", "<em>mountain</em>")]


def test_aggregations_match_plain_python(articles: dict[str, dict[str, Any]]) -> None:
    search = Article.search().extra(size=0)
    search.aggs.bucket("per_category", "terms", field="category", size=10).metric(
        "avg_views", "avg", field="views"
    ).metric("max_views", "max", field="views")
    search.aggs.bucket("per_month", "date_histogram", field="published", calendar_interval="month")
    search.aggs.bucket("per_author", A("terms", field="author.raw")).bucket("per_tag", "terms", field="tags")
    search.aggs.metric("total_views", "sum", field="views")
    search.aggs.bucket("popular", "filter", filter=Q("range", views={"gte": 5000})).metric(
        "cats", "cardinality", field="category"
    )
    search.aggs.bucket(
        "view_ranges", "range", field="views", ranges=[{"to": 1000}, {"from": 1000, "to": 5000}, {"from": 5000}]
    )
    response = search.execute()
    aggs = response.aggregations
    values = list(articles.values())

    assert aggs.total_views.value == sum(d["views"] for d in values)

    by_category: dict[str, list[int]] = defaultdict(list)
    for doc in values:
        by_category[doc["category"]].append(doc["views"])
    buckets = list(aggs.per_category.buckets)
    assert [b.key for b in buckets] == sorted(by_category, key=lambda c: (-len(by_category[c]), c))
    for bucket in buckets:
        views = by_category[bucket.key]
        assert bucket.doc_count == len(views)
        assert bucket.avg_views.value == pytest.approx(sum(views) / len(views))
        assert bucket.max_views.value == max(views)

    per_month = Counter(d["published"].strftime("%Y-%m") for d in values)
    months = [(b.key_as_string[:7], b.doc_count) for b in aggs.per_month.buckets]
    assert months == sorted(per_month.items())
    first_key = aggs.per_month.buckets[0].key
    first_key_ms = first_key if isinstance(first_key, int) else int(first_key.timestamp() * 1000)
    assert first_key_ms == int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)

    for author_bucket in aggs.per_author.buckets:
        tag_counts = Counter(t for d in values if d["author"] == author_bucket.key for t in d["tags"])
        assert author_bucket.doc_count == sum(1 for d in values if d["author"] == author_bucket.key)
        assert {b.key: b.doc_count for b in author_bucket.per_tag.buckets} == dict(tag_counts)
    assert {b.key for b in aggs.per_author.buckets} == set(AUTHORS)

    popular = [d for d in values if d["views"] >= 5000]
    assert aggs.popular.doc_count == len(popular)
    assert aggs.popular.cats.value == len({d["category"] for d in popular})

    ranges = [(b.key, b.doc_count) for b in aggs.view_ranges.buckets]
    assert ranges == [
        ("*-1000.0", sum(1 for d in values if d["views"] < 1000)),
        ("1000.0-5000.0", sum(1 for d in values if 1000 <= d["views"] < 5000)),
        ("5000.0-*", sum(1 for d in values if d["views"] >= 5000)),
    ]


def test_scan_and_count(articles: dict[str, dict[str, Any]]) -> None:
    seen = [hit.meta.id for hit in Article.search().params(size=37).scan()]
    assert len(seen) == ARTICLE_COUNT and set(seen) == set(articles)
    tech = Article.search().filter("term", category="tech")
    assert sorted(h.meta.id for h in tech.params(size=10).scan()) == sorted(
        k for k, d in articles.items() if d["category"] == "tech"
    )
    assert tech.count() == sum(1 for d in articles.values() if d["category"] == "tech")
    assert Search(using=ALIAS, index=INDEX).count() == ARTICLE_COUNT


def test_multi_search(articles: dict[str, dict[str, Any]]) -> None:
    ms = (
        MultiSearch(using=ALIAS, index=INDEX)
        .add(Search().filter("term", category="news"))
        .add(Search().query("match", title="lazy")[:2])
        .add(Search(index="dsl-missing").query("match_all"))
    )
    news, lazy, missing = ms.execute(raise_on_error=False)
    assert news.hits.total.value == sum(1 for d in articles.values() if d["category"] == "news")
    assert lazy.hits.total.value == sum(1 for d in articles.values() if "lazy" in _words(d))
    assert len(lazy.hits) == 2
    assert missing is None  # raise_on_error=False: an erroring search comes back as None


# -- mutations, on a scratch copy -------------------------------------------------------------------------


def test_update_by_query_without_script(es: Elasticsearch) -> None:
    index = "dsl-scratch-ubq"
    data = make_articles(60, seed=5)
    load(es, index, data)
    ubq = UpdateByQuery(using=ALIAS, index=index).filter("term", category="tech").params(refresh=True)
    response = ubq.execute()
    tech = sum(1 for d in data.values() if d["category"] == "tech")
    assert response.success()
    assert response.updated == tech and response.total == tech
    assert Article.get(id=next(k for k, d in data.items() if d["category"] == "tech"), index=index).meta.version == 2


def test_search_delete_is_delete_by_query(es: Elasticsearch) -> None:
    index = "dsl-scratch-dbq"
    data = make_articles(60, seed=6)
    load(es, index, data)
    travel = sum(1 for d in data.values() if d["category"] == "travel")
    response = Article.search(index=index).filter("term", category="travel").params(refresh=True).delete()
    assert response.deleted == travel
    assert Article.search(index=index).count() == len(data) - travel
    assert Article.search(index=index).filter("term", category="travel").count() == 0


# -- the 8.x client, in its own venv ---------------------------------------------------------------------

ES8_DSL_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from datetime import datetime
    import elasticsearch
    try:
        from elasticsearch.dsl import A, Date, Document, Integer, Keyword, Q, Search, Text, connections
        flavour = "elasticsearch.dsl"
    except ImportError:
        from elasticsearch_dsl import A, Date, Document, Integer, Keyword, Q, Search, Text, connections
        flavour = "elasticsearch_dsl"

    class Article(Document):
        title = Text()
        category = Keyword()
        published = Date(default_timezone="UTC")
        views = Integer()

        class Index:
            name = "dsl8-articles"

    connections.create_connection(hosts=[sys.argv[1]], request_timeout=30)
    docs = json.loads(sys.stdin.read())
    out = {"client": elasticsearch.__versionstr__, "flavour": flavour}
    Article.init()
    out["mapping"] = Article._index.get_mapping()["dsl8-articles"]["mappings"]["properties"]
    out["saved"] = [
        Article(meta={"id": k}, published=datetime.fromisoformat(v.pop("published")), **v).save()
        for k, v in docs.items()
    ]
    Article._index.refresh()
    out["count"] = Article.search().count()
    s = Article.search().query(Q("match", title="fox") & ~Q("term", category="news"))
    out["fox_not_news"] = sorted(h.meta.id for h in s[:1000])
    s = Article.search().filter("range", views={"gte": 500}).sort("-views")[:5]
    out["top_views"] = [h.meta.id for h in s.execute()]
    s = Article.search().extra(size=0)
    s.aggs.bucket("cats", "terms", field="category").metric("avg_views", "avg", field="views")
    s.aggs.bucket("months", A("date_histogram", field="published", calendar_interval="month"))
    aggs = s.execute().aggregations
    out["cats"] = {b.key: [b.doc_count, b.avg_views.value] for b in aggs.cats.buckets}
    out["months"] = {b.key_as_string[:7]: b.doc_count for b in aggs.months.buckets}
    out["scan"] = sorted(h.meta.id for h in Article.search().params(size=7).scan())
    got = Article.get(id="a000")
    out["get"] = [got.title, got.published.isoformat()]
    print(json.dumps(out))
    """
)


def _es8_python() -> str | None:
    probe_code = "import elasticsearch; print(elasticsearch.__versionstr__)"
    for candidate in (os.environ.get("QUIDDITCH_ES8_PYTHON"), "/tmp/es8/bin/python"):
        if candidate and Path(candidate).exists():
            probe = subprocess.run([candidate, "-c", probe_code], capture_output=True, text=True, timeout=60)
            if probe.returncode == 0 and probe.stdout.startswith("8."):
                return candidate
    return None


def _has_dsl(python: str) -> bool:
    code = "try:\n import elasticsearch.dsl\nexcept ImportError:\n import elasticsearch_dsl"
    return subprocess.run([python, "-c", code], capture_output=True, timeout=60).returncode == 0


def test_elasticsearch_8_dsl(server: ServerProcess) -> None:
    python = _es8_python()
    if python is None:
        pytest.skip("no Python with elasticsearch 8.x (set QUIDDITCH_ES8_PYTHON or create /tmp/es8)")
    if not _has_dsl(python):
        pytest.skip(f"{python} has neither elasticsearch.dsl (8.18+) nor the elasticsearch-dsl package")
    data = make_articles(90, seed=8)
    payload = {
        k: {
            "title": v["title"],
            "category": v["category"],
            "views": v["views"],
            "published": v["published"].isoformat(),
        }
        for k, v in data.items()
    }
    run = subprocess.run(
        [python, "-c", ES8_DSL_SCRIPT, server.url],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["client"].startswith("8.")
    assert out["mapping"] == {
        "title": {"type": "text"},
        "category": {"type": "keyword"},
        "published": {"type": "date"},
        "views": {"type": "integer"},
    }
    assert out["saved"] == ["created"] * len(data)
    assert out["count"] == len(data)
    values = list(data.values())
    assert out["fox_not_news"] == sorted(k for k, d in data.items() if "fox" in _words(d) and d["category"] != "news")
    ranked = sorted((k for k, d in data.items() if d["views"] >= 500), key=lambda k: -data[k]["views"])
    assert out["top_views"] == ranked[:5]
    by_category: dict[str, list[int]] = defaultdict(list)
    for doc in values:
        by_category[doc["category"]].append(doc["views"])
    assert set(out["cats"]) == set(by_category)
    for category, (count, average) in out["cats"].items():
        assert count == len(by_category[category])
        assert average == pytest.approx(sum(by_category[category]) / count)
    assert out["months"] == dict(sorted(Counter(d["published"].strftime("%Y-%m") for d in values).items()))
    assert out["scan"] == sorted(data)
    assert out["get"] == [data["a000"]["title"], data["a000"]["published"].isoformat()]
