"""The sampling aggregations: ``sampler``, ``diversified_sampler`` and ``random_sampler``.

Each one narrows the documents its sub-aggregations see, per shard:

- ``sampler``: the ``shard_size`` best-scoring matches of the shard (default 100);
- ``diversified_sampler``: the same, keeping at most ``max_docs_per_value`` documents per value of
  ``field`` (walked in score order, ties in index order as Lucene's top-docs collector breaks them);
- ``random_sampler`` (top level only, as ES): each matching document is kept with ``probability``, drawn
  from a hash of the ``seed`` and the document's shard sequence number, so one seed gives one sample. A
  probability of 1 keeps everything. As in ES, the sampled counts are scaled back by ``1 / probability``
  at finalize (the sampler's ``doc_count``, bucket ``doc_count``s and ``sum``/``value_count``-like
  metrics); averages, minima and maxima are the sample's own.

The chosen documents become a query (a term set over the shard's ``_seq_no`` fast field), so every
sub-aggregation runs unchanged on it. Partial: ``{"n": sampled doc count, "s": sub partials}``.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any

import tantivy

from native.aggs.execute import ShardContext
from native.aggs.partials import Partial, finalize_level, merge_level
from native.aggs.readers import _check_keys, _field, _float, _int
from native.aggs.spec import AggNode
from native.errors import IllegalArgument, XContentParseError
from native.fields import SEQ_NO_FIELD
from native.search import count_matches

DEFAULT_SHARD_SIZE = 100


@dataclass(frozen=True)
class SamplerSpec:
    shard_size: int = DEFAULT_SHARD_SIZE


@dataclass(frozen=True)
class DiversifiedSamplerSpec:
    field: str
    shard_size: int = DEFAULT_SHARD_SIZE
    max_docs_per_value: int = 1


@dataclass(frozen=True)
class RandomSamplerSpec:
    probability: float
    seed: int


def parse_sampler(name: str, kind: str, body: dict[str, Any]) -> SamplerSpec:
    _check_keys(kind, body, {"shard_size"})
    return SamplerSpec(_shard_size(name, kind, body))


def parse_diversified_sampler(name: str, kind: str, body: dict[str, Any]) -> DiversifiedSamplerSpec:
    _check_keys(kind, body, {"field", "shard_size", "max_docs_per_value", "execution_hint"})
    hint = body.get("execution_hint")
    if hint is not None and hint not in ("map", "global_ordinals", "bytes_hash"):
        raise IllegalArgument(f"Unknown `execution_hint`: [{hint}], expected any of [map, global_ordinals, bytes_hash]")
    per_value = _int(kind, "max_docs_per_value", body.get("max_docs_per_value", 1))
    if per_value < 1:
        raise IllegalArgument(f"[max_docs_per_value] must be greater than 0. Found [{per_value}] in [{name}]")
    return DiversifiedSamplerSpec(_field(kind, body), _shard_size(name, kind, body), per_value)


def parse_random_sampler(name: str, kind: str, body: dict[str, Any]) -> RandomSamplerSpec:
    _check_keys(kind, body, {"probability", "seed", "shard_seed"})
    if "shard_seed" in body:
        raise XContentParseError(f"[{kind}] unknown field [shard_seed]")
    if "probability" not in body:
        raise IllegalArgument("Required [probability]")
    probability = _float(kind, "probability", body["probability"])
    if probability <= 0:
        raise IllegalArgument(f"[probability] must be greater than 0.0, was [{probability}]")
    if probability > 0.5 and probability != 1.0:
        raise IllegalArgument(f"[probability] must be between 0.0 and 0.5 or exactly 1.0, was [{probability}]")
    # ES draws a random seed when none is given (and reports it)
    seed = _int(kind, "seed", body["seed"]) if "seed" in body else random.randint(0, 2**31 - 1)
    return RandomSamplerSpec(probability, seed)


def _shard_size(name: str, kind: str, body: dict[str, Any]) -> int:
    size = _int(kind, "shard_size", body.get("shard_size", DEFAULT_SHARD_SIZE))
    if size < 1:
        raise IllegalArgument(f"[shard_size] must be greater than 0. Found [{size}] in [{name}]")
    return size


# Metric kinds whose value is a sum over documents: ES's random sampler scales them up.
_UNSUPPORTED_UNDER_RANDOM = frozenset({"cardinality", "top_hits", "top_metrics", "percentiles",
                                       "percentile_ranks", "rare_terms", "significant_terms",
                                       "significant_text", "sampler", "diversified_sampler", "composite",
                                       "nested", "reverse_nested", "global", "multi_terms",
                                       "random_sampler"})  # fmt: skip


def check_random_sampler(nodes: tuple[AggNode, ...], parent: str | None = None) -> None:
    """ES's structural rules for ``random_sampler``: top level only, with sub-aggregations it can scale."""
    for node in nodes:
        if node.kind == "random_sampler":
            if parent is not None:
                raise IllegalArgument(f"[random_sampler] aggregation [{node.name}] cannot have a parent aggregation")
            if not node.children:
                raise IllegalArgument(f"[random_sampler] aggregation [{node.name}] must have sub-aggregations")
            _check_sampled(node, node.children)
        check_random_sampler(node.children, node.name)


def _check_sampled(sampler: AggNode, nodes: tuple[AggNode, ...]) -> None:
    for node in nodes:
        if node.kind in _UNSUPPORTED_UNDER_RANDOM:
            raise IllegalArgument(
                f"[random_sampler] aggregation [{sampler.name}] does not support sampling [{node.kind}] "
                f"aggregation [{node.name}]"
            )
        _check_sampled(sampler, node.children)


def docs_query(ctx: ShardContext, addrs: list[tantivy.DocAddress]) -> tantivy.Query:
    """A query matching exactly the documents ``addrs`` of this shard (by their ``_seq_no``)."""
    if not addrs:
        return tantivy.Query.empty_query()
    seqs = [int(s) for s in ctx.searcher.fast_field_values(SEQ_NO_FIELD, addrs) if s is not None]
    return tantivy.Query.term_set_query(ctx.schema, SEQ_NO_FIELD, seqs)


class _SampledKind:
    """Shared merge / finalize: the sampled doc count and the sub-aggregations of the sample."""

    def empty(self, node: AggNode) -> Partial:
        return {"n": 0, "s": {}}

    def merge(self, node: AggNode, a: Partial, b: Partial) -> Partial:
        return {"n": a["n"] + b["n"], "s": merge_level(node.children, a["s"], b["s"])}

    def finalize(self, node: AggNode, p: Partial) -> dict[str, Any]:
        return {"doc_count": p["n"], **finalize_level(node.children, p["s"])}

    def _sample(self, ctx: ShardContext, node: AggNode, query: tantivy.Query, addrs: list[Any]) -> Partial:
        if not addrs:
            return {"n": 0, "s": ctx.collect_level(node.children, tantivy.Query.empty_query())}
        sample = docs_query(ctx, addrs)
        n = ctx.count(ctx.restrict(query, sample)) if ctx.weighted else len(addrs)  # (``_doc_count``)
        return {"n": n, "s": ctx.collect_subs(node, query, sample)}


class SamplerKind(_SampledKind):
    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: SamplerSpec = node.params
        hits = ctx.searcher.search(query, spec.shard_size, count=False).hits
        return self._sample(ctx, node, query, [a for _, a in hits])


class DiversifiedSamplerKind(_SampledKind):
    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: DiversifiedSamplerSpec = node.params
        info = ctx.field(spec.field)
        if info is None:  # ES: an unmapped field samples nothing
            return self._sample(ctx, node, query, [])
        if info.tantivy_type == tantivy.FieldType.Text and info.es_type != "keyword":
            raise IllegalArgument(
                f"Text fields are not optimised for operations that require per-document field data like "
                f"aggregations and sorting, so these operations are disabled by default. Please use a keyword "
                f"field instead. Alternatively, set fielddata=true on [{spec.field}] in order to load field data "
                "by uninverting the inverted index. Note that this can use significant memory."
            )
        with_value = ctx.restrict(query, ctx.exists_filter(info))
        total = count_matches(ctx.searcher, with_value)
        # Read the best-scoring documents in growing windows until the sample is full or all are read.
        window = min(total, max(256, 2 * spec.shard_size * spec.max_docs_per_value))
        while True:
            hits = ctx.searcher.search(with_value, max(window, 1), count=False).hits
            hits = sorted(hits, key=lambda h: (-h[0], h[1].segment_ord, h[1].doc))
            kept = _diversified(ctx, info, spec, [a for _, a in hits])
            if len(kept) >= spec.shard_size or window >= total:
                return self._sample(ctx, node, query, kept)
            window = min(total, window * 4)


def _diversified(ctx: ShardContext, info: Any, spec: DiversifiedSamplerSpec, addrs: list[Any]) -> list[Any]:
    """The first ``shard_size`` of ``addrs`` (in order) keeping ``max_docs_per_value`` per value of ``info``."""
    values = _values(ctx, info, addrs)
    kept: list[Any] = []
    per_value: dict[Any, int] = {}
    for addr, value in zip(addrs, values, strict=True):
        seen = per_value.get(value, 0)
        if seen >= spec.max_docs_per_value:
            continue
        per_value[value] = seen + 1
        kept.append(addr)
        if len(kept) >= spec.shard_size:
            break
    return kept


def _values(ctx: ShardContext, info: Any, addrs: list[Any]) -> list[Any]:
    """The (first) value of ``info`` for each of ``addrs``."""
    if not addrs:
        return []
    if info.tantivy_type == tantivy.FieldType.Text:  # keyword: its ordered column gives the value per doc
        docs = docs_query(ctx, addrs)
        ordered = ctx.searcher.search(docs, len(addrs), count=False, order_by_field=info.tantivy_name).hits
        by_addr = {(a.segment_ord, a.doc): k for k, a in ordered}
        return [by_addr.get((a.segment_ord, a.doc)) for a in addrs]
    return list(ctx.searcher.fast_field_values(info.tantivy_name, addrs))


class RandomSamplerKind(_SampledKind):
    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: RandomSamplerSpec = node.params
        if spec.probability >= 1.0:
            return {"n": ctx.count(query), "s": ctx.collect_level(node.children, query)}
        addrs = ctx.docs(query)
        seqs = ctx.searcher.fast_field_values(SEQ_NO_FIELD, addrs) if addrs else []
        kept = [a for a, s in zip(addrs, seqs, strict=True) if _draw(spec.seed, ctx.index_name, s) < spec.probability]
        return self._sample(ctx, node, query, kept)

    def finalize(self, node: AggNode, p: Partial) -> dict[str, Any]:
        spec: RandomSamplerSpec = node.params
        factor = 1.0 / spec.probability
        subs = finalize_level(node.children, p["s"])
        if factor != 1.0:
            subs = {name: _scale(child, subs[name], factor) for name, child in _by_name(node.children).items()}
        return {"seed": spec.seed, "probability": spec.probability, "doc_count": _scaled(p["n"], factor), **subs}


def _draw(seed: int, index: str, seq: Any) -> float:
    digest = hashlib.blake2b(f"{seed}:{index}:{seq}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _by_name(nodes: tuple[AggNode, ...]) -> dict[str, AggNode]:
    return {n.name: n for n in nodes}


def _scaled(count: Any, factor: float) -> Any:
    return int(count * factor) if isinstance(count, int) else count


_SUM_KINDS = frozenset({"sum", "value_count"})


def _scale(node: AggNode, rendered: dict[str, Any], factor: float) -> dict[str, Any]:
    """ES's ``SamplingContext.scaleUp`` of one rendered sub-aggregation: counts and sums grow by ``factor``."""
    out = dict(rendered)
    if node.kind in _SUM_KINDS and isinstance(out.get("value"), int | float):
        out["value"] = _scaled(out["value"], factor) if node.kind == "value_count" else out["value"] * factor
    if node.kind in ("stats", "extended_stats"):
        if isinstance(out.get("count"), int):
            out["count"] = _scaled(out["count"], factor)
        if isinstance(out.get("sum"), int | float):
            out["sum"] = out["sum"] * factor
    for key in ("doc_count", "sum_other_doc_count"):
        if isinstance(out.get(key), int):
            out[key] = _scaled(out[key], factor)
    children = _by_name(node.children)
    buckets = out.get("buckets")
    if isinstance(buckets, list | dict):
        items = buckets.values() if isinstance(buckets, dict) else buckets
        for bucket in items:
            if isinstance(bucket.get("doc_count"), int):
                bucket["doc_count"] = _scaled(bucket["doc_count"], factor)
            for name, child in children.items():
                if isinstance(bucket.get(name), dict):
                    bucket[name] = _scale(child, bucket[name], factor)
    for name, child in children.items():
        if isinstance(out.get(name), dict):
            out[name] = _scale(child, out[name], factor)
    return out


KINDS = {
    "sampler": SamplerKind(),
    "diversified_sampler": DiversifiedSamplerKind(),
    "random_sampler": RandomSamplerKind(),
}
