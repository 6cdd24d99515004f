"""Sliced scroll and sliced point-in-time searches: which documents of a shard belong to one slice.

ES splits a sliced search in two steps (its ``SliceBuilder.toFilter``): the coordinating node first assigns
whole shards to slices (``plan_slices``, below), and only a shard that several slices share is split further
by document. The document split is one of

- ``by_id`` (a scroll without ``field``, or ``field: _id``): ``murmur3_x86_32(Uid.encodeId(_id), 7919)``
  ``floorMod max == id`` (ES's ``TermsSliceQuery``);
- ``by_field`` (``field`` a numeric or date field with doc values): the document is in the slice when one of
  its values, mixed as hppc's ``BitMixer.mix``, is ``floorMod max == id`` (ES's ``DocValuesSliceQuery``);
  a document without a value is in no slice, as in ES;
- ``by_doc`` (a point-in-time search without ``field``): contiguous runs of the shard's documents in index
  order (``_seq_no``), ``max`` runs of near-equal size (ES's ``DocIdSliceQuery``). A PIT pins the reader, so
  every slice reads the same documents and the runs partition them.

The filter is a tantivy term-set query over the chosen documents' ``_seq_no`` (unique within a shard), ANDed
with the search's own query, so hits, totals and aggregations all see the slice only. Finding the documents
reads one fast-field column over the shard (about what a ``_doc``-sorted page costs); the sets are cached per
searcher generation, so a scroll's later pages pay nothing more.
"""

from __future__ import annotations

import base64
import re
import struct
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import Any

import mmh3
import orjson
import tantivy

from native.errors import IllegalArgument
from native.fields import COLUMNAR_NUMERIC_TYPES, ID_FIELD, SEQ_NO_FIELD

TERMS_SLICE_SEED = 7919
_MASK64 = (1 << 64) - 1


@dataclass(frozen=True)
class ShardSlice:
    """One shard's part of a slice: nothing, or documents ``id`` of ``max`` split by ``mode``."""

    id: int = 0
    max: int = 1
    mode: str = "by_id"  # by_id | by_field | by_doc
    field: str | None = None
    none: bool = False

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @staticmethod
    def from_json(raw: bytes) -> ShardSlice:
        return ShardSlice(**orjson.loads(raw))


def plan_slices(
    slice_id: int, slice_max: int, num_shards: int, field: str | None, point_in_time: bool
) -> list[ShardSlice | None]:
    """Per shard (in the request's shard order), its part of slice ``slice_id`` of ``slice_max``: ``None``
    for the whole shard. As ES: with at least as many shards as slices, slice ``id`` takes the shards whose
    position ``floorMod max`` is ``id``; with more slices than shards, shard ``id mod shards`` is split among
    the slices that share it, by document."""
    if field in (None, "_shard_doc") and point_in_time:
        mode, field = "by_doc", None
    elif field in (None, "_id"):
        mode, field = "by_id", None
    else:
        mode = "by_field"
    nothing = ShardSlice(none=True)
    if num_shards == 1:
        return [ShardSlice(slice_id, slice_max, mode, field)]
    if slice_max >= num_shards:
        target = slice_id % num_shards
        shared = slice_max // num_shards + (1 if slice_max % num_shards > target else 0)
        part = None if shared == 1 else ShardSlice(slice_id // num_shards, shared, mode, field)
        return [part if i == target else nothing for i in range(num_shards)]
    return [None if i % slice_max == slice_id else nothing for i in range(num_shards)]


# -- ES's hashes -------------------------------------------------------------------------------------------

_BASE64_URL = re.compile(r"[A-Za-z0-9_-]*")


def encode_id(doc_id: str) -> bytes:
    """ES's ``Uid.encodeId``: the bytes its ``_id`` terms hold (numeric ids packed two digits a byte, URL-safe
    base64 ids decoded, anything else UTF-8 behind a marker byte)."""
    if doc_id and all("0" <= c <= "9" for c in doc_id):
        out = bytearray([0xFE])
        for i in range(0, len(doc_id), 2):
            hi = ord(doc_id[i]) - 48
            lo = ord(doc_id[i + 1]) - 48 if i + 1 < len(doc_id) else 0x0F
            out.append((hi << 4) | lo)
        return bytes(out)
    if _is_url_base64_without_padding(doc_id):
        decoded = base64.urlsafe_b64decode(doc_id + "=" * (-len(doc_id) % 4))
        if decoded and decoded[0] >= 0xFD:
            return b"\xfd" + decoded
        return decoded
    return b"\xff" + doc_id.encode("utf-8")


def _is_url_base64_without_padding(doc_id: str) -> bool:
    if not doc_id or len(doc_id) % 4 == 1 or not _BASE64_URL.fullmatch(doc_id):
        return False
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(doc_id[-1])
    if len(doc_id) % 4 == 2:
        return last & 0x0F == 0
    if len(doc_id) % 4 == 3:
        return last & 0x03 == 0
    return True


def id_slot(doc_id: str, slice_max: int) -> int:
    return mmh3.hash(encode_id(doc_id), TERMS_SLICE_SEED, signed=True) % slice_max


def _mix(value: int) -> int:
    """hppc's ``BitMixer.mix(long)``: the low 32 bits (signed) of ``mix64``."""
    z = value & _MASK64
    z = ((z ^ (z >> 32)) * 0x4CD6944C5CC20B6D) & _MASK64
    z = ((z ^ (z >> 29)) * 0xFC12C5B19D3259E9) & _MASK64
    z ^= z >> 32
    low = z & 0xFFFFFFFF
    return low - (1 << 32) if low >= 1 << 31 else low


def _sortable_long(value: Any) -> int:
    """The long a doc value is stored as in Lucene (doubles as ``NumericUtils.doubleToSortableLong``)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        bits = struct.unpack(">q", struct.pack(">d", value))[0]
        return bits ^ ((bits >> 63) & 0x7FFFFFFFFFFFFFFF)
    if hasattr(value, "timestamp"):  # a date column: epoch milliseconds
        return int(value.timestamp() * 1000)
    raise IllegalArgument(f"cannot slice on a value of type [{type(value).__name__}]")


def value_slot(value: Any, slice_max: int) -> int:
    return _mix(_sortable_long(value)) % slice_max


# -- the filter --------------------------------------------------------------------------------------------

_CACHE_SIZE = 64
_cache: OrderedDict[tuple[Any, ...], list[int]] = OrderedDict()
_cache_lock = threading.Lock()


def slice_filter(
    searcher: tantivy.Searcher, schema: tantivy.Schema, part: ShardSlice, field: tuple[str, str] | None,
    cache_key: tuple[Any, ...] | None = None,
) -> tantivy.Query:  # fmt: skip
    """A query matching the shard's documents of ``part``. ``field`` is ``(tantivy name, ES type)`` of the
    slice field (``by_field``); ``cache_key`` names the searcher (shard and generation) to cache the set."""
    if part.none:
        return tantivy.Query.empty_query()
    key = None if cache_key is None else (*cache_key, part)
    kept: list[int] | None = None
    if key is not None:
        with _cache_lock:
            kept = _cache.get(key)
    if kept is None:
        kept = _slice_seq_nos(searcher, part, field)
        if key is not None:
            with _cache_lock:
                _cache[key] = kept
                while len(_cache) > _CACHE_SIZE:
                    _cache.popitem(last=False)
    return tantivy.Query.term_set_query(schema, SEQ_NO_FIELD, kept)


def _slice_seq_nos(searcher: tantivy.Searcher, part: ShardSlice, field: tuple[str, str] | None) -> list[int]:
    num_docs = int(searcher.num_docs)
    if num_docs == 0:
        return []
    everything = tantivy.Query.all_query()
    by_seq = searcher.search(everything, num_docs, count=False, order_by_field=SEQ_NO_FIELD, order=tantivy.Order.Asc)
    if part.mode == "by_doc":
        seqs = [int(v) for v, _ in by_seq.hits]
        lo, hi = part.id * len(seqs) // part.max, (part.id + 1) * len(seqs) // part.max
        return seqs[lo:hi]
    addrs = [a for _, a in by_seq.hits]
    seqs = [int(v) for v, _ in by_seq.hits]
    if part.mode == "by_id":
        by_id = searcher.search(everything, num_docs, count=False, order_by_field=ID_FIELD)
        ids = {(a.segment_ord, a.doc): str(k) for k, a in by_id.hits}
        return [
            s for s, a in zip(seqs, addrs, strict=True) if id_slot(ids[(a.segment_ord, a.doc)], part.max) == part.id
        ]
    if field is None:
        raise IllegalArgument(f"field [{part.field}] not found")
    values = searcher.fast_field_values(field[0], addrs)
    return [s for s, v in zip(seqs, values, strict=True) if v is not None and value_slot(v, part.max) == part.id]


def slice_field(compiled: Any, name: str | None) -> tuple[str, str] | None:
    """``(tantivy name, ES type)`` of a ``by_field`` slice's field, refused as ES refuses it."""
    if name is None:
        return None
    info = compiled.field(name)
    if info is None:
        raise IllegalArgument(f"field {name} not found")
    if info.es_type not in COLUMNAR_NUMERIC_TYPES:
        raise IllegalArgument(f"cannot load numeric doc values on {name}")
    return info.tantivy_name, info.es_type
