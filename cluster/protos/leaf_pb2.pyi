from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ShardRef(_message.Message):
    __slots__ = ("index", "uuid", "shard")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    UUID_FIELD_NUMBER: _ClassVar[int]
    SHARD_FIELD_NUMBER: _ClassVar[int]
    index: str
    uuid: str
    shard: int
    def __init__(self, index: _Optional[str] = ..., uuid: _Optional[str] = ..., shard: _Optional[int] = ...) -> None: ...

class Error(_message.Message):
    __slots__ = ("status", "es_type", "reason", "extra_json", "caused_by")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ES_TYPE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EXTRA_JSON_FIELD_NUMBER: _ClassVar[int]
    CAUSED_BY_FIELD_NUMBER: _ClassVar[int]
    status: int
    es_type: str
    reason: str
    extra_json: bytes
    caused_by: Error
    def __init__(self, status: _Optional[int] = ..., es_type: _Optional[str] = ..., reason: _Optional[str] = ..., extra_json: _Optional[bytes] = ..., caused_by: _Optional[_Union[Error, _Mapping]] = ...) -> None: ...

class SearchRequest(_message.Message):
    __slots__ = ("shards", "query_json", "sort_json", "limit", "search_after_json", "aggs_json", "has_min_score", "min_score", "now_millis", "searcher_generations", "fetch", "fetch_from", "highlight_json", "pin_seconds", "request_cache", "shard_search_after_json", "timeout_seconds", "shard_slice_json", "profile", "track_scores", "rescore_json", "suggest_json", "can_match", "untracked")
    SHARDS_FIELD_NUMBER: _ClassVar[int]
    QUERY_JSON_FIELD_NUMBER: _ClassVar[int]
    SORT_JSON_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    SEARCH_AFTER_JSON_FIELD_NUMBER: _ClassVar[int]
    AGGS_JSON_FIELD_NUMBER: _ClassVar[int]
    HAS_MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    NOW_MILLIS_FIELD_NUMBER: _ClassVar[int]
    SEARCHER_GENERATIONS_FIELD_NUMBER: _ClassVar[int]
    FETCH_FIELD_NUMBER: _ClassVar[int]
    FETCH_FROM_FIELD_NUMBER: _ClassVar[int]
    HIGHLIGHT_JSON_FIELD_NUMBER: _ClassVar[int]
    PIN_SECONDS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_CACHE_FIELD_NUMBER: _ClassVar[int]
    SHARD_SEARCH_AFTER_JSON_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SHARD_SLICE_JSON_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    TRACK_SCORES_FIELD_NUMBER: _ClassVar[int]
    RESCORE_JSON_FIELD_NUMBER: _ClassVar[int]
    SUGGEST_JSON_FIELD_NUMBER: _ClassVar[int]
    CAN_MATCH_FIELD_NUMBER: _ClassVar[int]
    UNTRACKED_FIELD_NUMBER: _ClassVar[int]
    shards: _containers.RepeatedCompositeFieldContainer[ShardRef]
    query_json: bytes
    sort_json: bytes
    limit: int
    search_after_json: bytes
    aggs_json: bytes
    has_min_score: bool
    min_score: float
    now_millis: int
    searcher_generations: _containers.RepeatedScalarFieldContainer[int]
    fetch: bool
    fetch_from: int
    highlight_json: bytes
    pin_seconds: float
    request_cache: bool
    shard_search_after_json: _containers.RepeatedScalarFieldContainer[bytes]
    timeout_seconds: float
    shard_slice_json: _containers.RepeatedScalarFieldContainer[bytes]
    profile: bool
    track_scores: bool
    rescore_json: bytes
    suggest_json: bytes
    can_match: bool
    untracked: bool
    def __init__(self, shards: _Optional[_Iterable[_Union[ShardRef, _Mapping]]] = ..., query_json: _Optional[bytes] = ..., sort_json: _Optional[bytes] = ..., limit: _Optional[int] = ..., search_after_json: _Optional[bytes] = ..., aggs_json: _Optional[bytes] = ..., has_min_score: _Optional[bool] = ..., min_score: _Optional[float] = ..., now_millis: _Optional[int] = ..., searcher_generations: _Optional[_Iterable[int]] = ..., fetch: _Optional[bool] = ..., fetch_from: _Optional[int] = ..., highlight_json: _Optional[bytes] = ..., pin_seconds: _Optional[float] = ..., request_cache: _Optional[bool] = ..., shard_search_after_json: _Optional[_Iterable[bytes]] = ..., timeout_seconds: _Optional[float] = ..., shard_slice_json: _Optional[_Iterable[bytes]] = ..., profile: _Optional[bool] = ..., track_scores: _Optional[bool] = ..., rescore_json: _Optional[bytes] = ..., suggest_json: _Optional[bytes] = ..., can_match: _Optional[bool] = ..., untracked: _Optional[bool] = ...) -> None: ...

class PartialHit(_message.Message):
    __slots__ = ("sort_values_json", "score", "has_score", "segment_ord", "doc", "tiebreak")
    SORT_VALUES_JSON_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    HAS_SCORE_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_ORD_FIELD_NUMBER: _ClassVar[int]
    DOC_FIELD_NUMBER: _ClassVar[int]
    TIEBREAK_FIELD_NUMBER: _ClassVar[int]
    sort_values_json: bytes
    score: float
    has_score: bool
    segment_ord: int
    doc: int
    tiebreak: int
    def __init__(self, sort_values_json: _Optional[bytes] = ..., score: _Optional[float] = ..., has_score: _Optional[bool] = ..., segment_ord: _Optional[int] = ..., doc: _Optional[int] = ..., tiebreak: _Optional[int] = ...) -> None: ...

class ShardSearchResult(_message.Message):
    __slots__ = ("shard", "searcher_generation", "hits", "total", "max_score", "has_max_score", "agg_partial", "error", "docs", "timed_out", "profile_json", "suggest_json", "cannot_match")
    SHARD_FIELD_NUMBER: _ClassVar[int]
    SEARCHER_GENERATION_FIELD_NUMBER: _ClassVar[int]
    HITS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    MAX_SCORE_FIELD_NUMBER: _ClassVar[int]
    HAS_MAX_SCORE_FIELD_NUMBER: _ClassVar[int]
    AGG_PARTIAL_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    DOCS_FIELD_NUMBER: _ClassVar[int]
    TIMED_OUT_FIELD_NUMBER: _ClassVar[int]
    PROFILE_JSON_FIELD_NUMBER: _ClassVar[int]
    SUGGEST_JSON_FIELD_NUMBER: _ClassVar[int]
    CANNOT_MATCH_FIELD_NUMBER: _ClassVar[int]
    shard: ShardRef
    searcher_generation: int
    hits: _containers.RepeatedCompositeFieldContainer[PartialHit]
    total: int
    max_score: float
    has_max_score: bool
    agg_partial: bytes
    error: Error
    docs: _containers.RepeatedCompositeFieldContainer[StoredDoc]
    timed_out: bool
    profile_json: bytes
    suggest_json: bytes
    cannot_match: bool
    def __init__(self, shard: _Optional[_Union[ShardRef, _Mapping]] = ..., searcher_generation: _Optional[int] = ..., hits: _Optional[_Iterable[_Union[PartialHit, _Mapping]]] = ..., total: _Optional[int] = ..., max_score: _Optional[float] = ..., has_max_score: _Optional[bool] = ..., agg_partial: _Optional[bytes] = ..., error: _Optional[_Union[Error, _Mapping]] = ..., docs: _Optional[_Iterable[_Union[StoredDoc, _Mapping]]] = ..., timed_out: _Optional[bool] = ..., profile_json: _Optional[bytes] = ..., suggest_json: _Optional[bytes] = ..., cannot_match: _Optional[bool] = ...) -> None: ...

class SearchResponse(_message.Message):
    __slots__ = ("results", "error")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ShardSearchResult]
    error: Error
    def __init__(self, results: _Optional[_Iterable[_Union[ShardSearchResult, _Mapping]]] = ..., error: _Optional[_Union[Error, _Mapping]] = ...) -> None: ...

class DocRef(_message.Message):
    __slots__ = ("segment_ord", "doc")
    SEGMENT_ORD_FIELD_NUMBER: _ClassVar[int]
    DOC_FIELD_NUMBER: _ClassVar[int]
    segment_ord: int
    doc: int
    def __init__(self, segment_ord: _Optional[int] = ..., doc: _Optional[int] = ...) -> None: ...

class FetchRequest(_message.Message):
    __slots__ = ("shard", "searcher_generation", "docs", "highlight_json", "query_json", "now_millis", "profile")
    SHARD_FIELD_NUMBER: _ClassVar[int]
    SEARCHER_GENERATION_FIELD_NUMBER: _ClassVar[int]
    DOCS_FIELD_NUMBER: _ClassVar[int]
    HIGHLIGHT_JSON_FIELD_NUMBER: _ClassVar[int]
    QUERY_JSON_FIELD_NUMBER: _ClassVar[int]
    NOW_MILLIS_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    shard: ShardRef
    searcher_generation: int
    docs: _containers.RepeatedCompositeFieldContainer[DocRef]
    highlight_json: bytes
    query_json: bytes
    now_millis: int
    profile: bool
    def __init__(self, shard: _Optional[_Union[ShardRef, _Mapping]] = ..., searcher_generation: _Optional[int] = ..., docs: _Optional[_Iterable[_Union[DocRef, _Mapping]]] = ..., highlight_json: _Optional[bytes] = ..., query_json: _Optional[bytes] = ..., now_millis: _Optional[int] = ..., profile: _Optional[bool] = ...) -> None: ...

class StoredDoc(_message.Message):
    __slots__ = ("id", "source", "version", "seq_no", "primary_term", "found", "highlight_json", "inner_hits_json", "matched_queries_json", "routing", "error")
    ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SEQ_NO_FIELD_NUMBER: _ClassVar[int]
    PRIMARY_TERM_FIELD_NUMBER: _ClassVar[int]
    FOUND_FIELD_NUMBER: _ClassVar[int]
    HIGHLIGHT_JSON_FIELD_NUMBER: _ClassVar[int]
    INNER_HITS_JSON_FIELD_NUMBER: _ClassVar[int]
    MATCHED_QUERIES_JSON_FIELD_NUMBER: _ClassVar[int]
    ROUTING_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    id: str
    source: bytes
    version: int
    seq_no: int
    primary_term: int
    found: bool
    highlight_json: bytes
    inner_hits_json: bytes
    matched_queries_json: bytes
    routing: str
    error: Error
    def __init__(self, id: _Optional[str] = ..., source: _Optional[bytes] = ..., version: _Optional[int] = ..., seq_no: _Optional[int] = ..., primary_term: _Optional[int] = ..., found: _Optional[bool] = ..., highlight_json: _Optional[bytes] = ..., inner_hits_json: _Optional[bytes] = ..., matched_queries_json: _Optional[bytes] = ..., routing: _Optional[str] = ..., error: _Optional[_Union[Error, _Mapping]] = ...) -> None: ...

class FetchResponse(_message.Message):
    __slots__ = ("docs", "error", "profile_json")
    DOCS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    PROFILE_JSON_FIELD_NUMBER: _ClassVar[int]
    docs: _containers.RepeatedCompositeFieldContainer[StoredDoc]
    error: Error
    profile_json: bytes
    def __init__(self, docs: _Optional[_Iterable[_Union[StoredDoc, _Mapping]]] = ..., error: _Optional[_Union[Error, _Mapping]] = ..., profile_json: _Optional[bytes] = ...) -> None: ...

class WriteOp(_message.Message):
    __slots__ = ("op", "id", "source", "has_if_seq_no", "if_seq_no", "if_primary_term", "auto_id", "update_json", "has_version", "version", "version_type", "routing")
    OP_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    HAS_IF_SEQ_NO_FIELD_NUMBER: _ClassVar[int]
    IF_SEQ_NO_FIELD_NUMBER: _ClassVar[int]
    IF_PRIMARY_TERM_FIELD_NUMBER: _ClassVar[int]
    AUTO_ID_FIELD_NUMBER: _ClassVar[int]
    UPDATE_JSON_FIELD_NUMBER: _ClassVar[int]
    HAS_VERSION_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    VERSION_TYPE_FIELD_NUMBER: _ClassVar[int]
    ROUTING_FIELD_NUMBER: _ClassVar[int]
    op: str
    id: str
    source: bytes
    has_if_seq_no: bool
    if_seq_no: int
    if_primary_term: int
    auto_id: bool
    update_json: bytes
    has_version: bool
    version: int
    version_type: str
    routing: str
    def __init__(self, op: _Optional[str] = ..., id: _Optional[str] = ..., source: _Optional[bytes] = ..., has_if_seq_no: _Optional[bool] = ..., if_seq_no: _Optional[int] = ..., if_primary_term: _Optional[int] = ..., auto_id: _Optional[bool] = ..., update_json: _Optional[bytes] = ..., has_version: _Optional[bool] = ..., version: _Optional[int] = ..., version_type: _Optional[str] = ..., routing: _Optional[str] = ...) -> None: ...

class WriteResult(_message.Message):
    __slots__ = ("id", "result", "version", "seq_no", "primary_term", "status", "error")
    ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SEQ_NO_FIELD_NUMBER: _ClassVar[int]
    PRIMARY_TERM_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    id: str
    result: str
    version: int
    seq_no: int
    primary_term: int
    status: int
    error: Error
    def __init__(self, id: _Optional[str] = ..., result: _Optional[str] = ..., version: _Optional[int] = ..., seq_no: _Optional[int] = ..., primary_term: _Optional[int] = ..., status: _Optional[int] = ..., error: _Optional[_Union[Error, _Mapping]] = ...) -> None: ...

class BulkRequest(_message.Message):
    __slots__ = ("shard", "ops", "mapping_version", "refresh", "columns")
    SHARD_FIELD_NUMBER: _ClassVar[int]
    OPS_FIELD_NUMBER: _ClassVar[int]
    MAPPING_VERSION_FIELD_NUMBER: _ClassVar[int]
    REFRESH_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    shard: ShardRef
    ops: _containers.RepeatedCompositeFieldContainer[WriteOp]
    mapping_version: int
    refresh: bool
    columns: IndexColumns
    def __init__(self, shard: _Optional[_Union[ShardRef, _Mapping]] = ..., ops: _Optional[_Iterable[_Union[WriteOp, _Mapping]]] = ..., mapping_version: _Optional[int] = ..., refresh: _Optional[bool] = ..., columns: _Optional[_Union[IndexColumns, _Mapping]] = ...) -> None: ...

class IndexColumns(_message.Message):
    __slots__ = ("op", "ids", "sources", "auto_id", "routings")
    OP_FIELD_NUMBER: _ClassVar[int]
    IDS_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    AUTO_ID_FIELD_NUMBER: _ClassVar[int]
    ROUTINGS_FIELD_NUMBER: _ClassVar[int]
    op: str
    ids: _containers.RepeatedScalarFieldContainer[str]
    sources: _containers.RepeatedScalarFieldContainer[bytes]
    auto_id: bool
    routings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, op: _Optional[str] = ..., ids: _Optional[_Iterable[str]] = ..., sources: _Optional[_Iterable[bytes]] = ..., auto_id: _Optional[bool] = ..., routings: _Optional[_Iterable[str]] = ...) -> None: ...

class BulkResponse(_message.Message):
    __slots__ = ("results", "error", "columns", "replication")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    REPLICATION_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[WriteResult]
    error: Error
    columns: IndexColumnsResult
    replication: ReplicationInfo
    def __init__(self, results: _Optional[_Iterable[_Union[WriteResult, _Mapping]]] = ..., error: _Optional[_Union[Error, _Mapping]] = ..., columns: _Optional[_Union[IndexColumnsResult, _Mapping]] = ..., replication: _Optional[_Union[ReplicationInfo, _Mapping]] = ...) -> None: ...

class ReplicationInfo(_message.Message):
    __slots__ = ("total", "successful", "failed", "failures")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    SUCCESSFUL_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    total: int
    successful: int
    failed: int
    failures: _containers.RepeatedCompositeFieldContainer[CopyFailure]
    def __init__(self, total: _Optional[int] = ..., successful: _Optional[int] = ..., failed: _Optional[int] = ..., failures: _Optional[_Iterable[_Union[CopyFailure, _Mapping]]] = ...) -> None: ...

class CopyFailure(_message.Message):
    __slots__ = ("node", "allocation_id", "error")
    NODE_FIELD_NUMBER: _ClassVar[int]
    ALLOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    node: str
    allocation_id: str
    error: Error
    def __init__(self, node: _Optional[str] = ..., allocation_id: _Optional[str] = ..., error: _Optional[_Union[Error, _Mapping]] = ...) -> None: ...

class ReplicateRequest(_message.Message):
    __slots__ = ("shard", "primary_term", "records", "global_checkpoint", "allocation_id", "refresh", "promotion_checkpoint")
    SHARD_FIELD_NUMBER: _ClassVar[int]
    PRIMARY_TERM_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    GLOBAL_CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    ALLOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    REFRESH_FIELD_NUMBER: _ClassVar[int]
    PROMOTION_CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    shard: ShardRef
    primary_term: int
    records: _containers.RepeatedScalarFieldContainer[bytes]
    global_checkpoint: int
    allocation_id: str
    refresh: bool
    promotion_checkpoint: int
    def __init__(self, shard: _Optional[_Union[ShardRef, _Mapping]] = ..., primary_term: _Optional[int] = ..., records: _Optional[_Iterable[bytes]] = ..., global_checkpoint: _Optional[int] = ..., allocation_id: _Optional[str] = ..., refresh: _Optional[bool] = ..., promotion_checkpoint: _Optional[int] = ...) -> None: ...

class ReplicateResponse(_message.Message):
    __slots__ = ("error", "local_checkpoint", "stale_primary")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    LOCAL_CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    STALE_PRIMARY_FIELD_NUMBER: _ClassVar[int]
    error: Error
    local_checkpoint: int
    stale_primary: bool
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., local_checkpoint: _Optional[int] = ..., stale_primary: _Optional[bool] = ...) -> None: ...

class RecoverRequest(_message.Message):
    __slots__ = ("shard", "step", "session", "local_checkpoint", "primary_term", "allocation_id", "state_version", "file", "offset", "length")
    SHARD_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    LOCAL_CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    PRIMARY_TERM_FIELD_NUMBER: _ClassVar[int]
    ALLOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    shard: ShardRef
    step: str
    session: str
    local_checkpoint: int
    primary_term: int
    allocation_id: str
    state_version: int
    file: str
    offset: int
    length: int
    def __init__(self, shard: _Optional[_Union[ShardRef, _Mapping]] = ..., step: _Optional[str] = ..., session: _Optional[str] = ..., local_checkpoint: _Optional[int] = ..., primary_term: _Optional[int] = ..., allocation_id: _Optional[str] = ..., state_version: _Optional[int] = ..., file: _Optional[str] = ..., offset: _Optional[int] = ..., length: _Optional[int] = ...) -> None: ...

class RecoverFile(_message.Message):
    __slots__ = ("name", "size")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    name: str
    size: int
    def __init__(self, name: _Optional[str] = ..., size: _Optional[int] = ...) -> None: ...

class RecoverResponse(_message.Message):
    __slots__ = ("error", "session", "files", "state_json", "ops", "primary_term", "data", "records")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    STATE_JSON_FIELD_NUMBER: _ClassVar[int]
    OPS_FIELD_NUMBER: _ClassVar[int]
    PRIMARY_TERM_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    error: Error
    session: str
    files: _containers.RepeatedCompositeFieldContainer[RecoverFile]
    state_json: bytes
    ops: int
    primary_term: int
    data: bytes
    records: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., session: _Optional[str] = ..., files: _Optional[_Iterable[_Union[RecoverFile, _Mapping]]] = ..., state_json: _Optional[bytes] = ..., ops: _Optional[int] = ..., primary_term: _Optional[int] = ..., data: _Optional[bytes] = ..., records: _Optional[_Iterable[bytes]] = ...) -> None: ...

class IndexColumnsResult(_message.Message):
    __slots__ = ("seq_nos", "versions", "updated", "primary_term", "failed", "errors")
    SEQ_NOS_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    PRIMARY_TERM_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    seq_nos: _containers.RepeatedScalarFieldContainer[int]
    versions: _containers.RepeatedScalarFieldContainer[int]
    updated: _containers.RepeatedScalarFieldContainer[bool]
    primary_term: int
    failed: _containers.RepeatedScalarFieldContainer[int]
    errors: _containers.RepeatedCompositeFieldContainer[Error]
    def __init__(self, seq_nos: _Optional[_Iterable[int]] = ..., versions: _Optional[_Iterable[int]] = ..., updated: _Optional[_Iterable[bool]] = ..., primary_term: _Optional[int] = ..., failed: _Optional[_Iterable[int]] = ..., errors: _Optional[_Iterable[_Union[Error, _Mapping]]] = ...) -> None: ...

class GetRequest(_message.Message):
    __slots__ = ("shard", "id", "not_realtime")
    SHARD_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NOT_REALTIME_FIELD_NUMBER: _ClassVar[int]
    shard: ShardRef
    id: str
    not_realtime: bool
    def __init__(self, shard: _Optional[_Union[ShardRef, _Mapping]] = ..., id: _Optional[str] = ..., not_realtime: _Optional[bool] = ...) -> None: ...

class RefreshRequest(_message.Message):
    __slots__ = ("shards",)
    SHARDS_FIELD_NUMBER: _ClassVar[int]
    shards: _containers.RepeatedCompositeFieldContainer[ShardRef]
    def __init__(self, shards: _Optional[_Iterable[_Union[ShardRef, _Mapping]]] = ...) -> None: ...

class RefreshResponse(_message.Message):
    __slots__ = ("successful", "failures", "error")
    SUCCESSFUL_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    successful: int
    failures: _containers.RepeatedCompositeFieldContainer[ShardFailure]
    error: Error
    def __init__(self, successful: _Optional[int] = ..., failures: _Optional[_Iterable[_Union[ShardFailure, _Mapping]]] = ..., error: _Optional[_Union[Error, _Mapping]] = ...) -> None: ...

class ForcemergeRequest(_message.Message):
    __slots__ = ("shards", "max_num_segments", "only_expunge_deletes")
    SHARDS_FIELD_NUMBER: _ClassVar[int]
    MAX_NUM_SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    ONLY_EXPUNGE_DELETES_FIELD_NUMBER: _ClassVar[int]
    shards: _containers.RepeatedCompositeFieldContainer[ShardRef]
    max_num_segments: int
    only_expunge_deletes: bool
    def __init__(self, shards: _Optional[_Iterable[_Union[ShardRef, _Mapping]]] = ..., max_num_segments: _Optional[int] = ..., only_expunge_deletes: _Optional[bool] = ...) -> None: ...

class ForcemergeResponse(_message.Message):
    __slots__ = ("successful", "merged", "failures", "error")
    SUCCESSFUL_FIELD_NUMBER: _ClassVar[int]
    MERGED_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    successful: int
    merged: int
    failures: _containers.RepeatedCompositeFieldContainer[ShardFailure]
    error: Error
    def __init__(self, successful: _Optional[int] = ..., merged: _Optional[int] = ..., failures: _Optional[_Iterable[_Union[ShardFailure, _Mapping]]] = ..., error: _Optional[_Union[Error, _Mapping]] = ...) -> None: ...

class ShardFailure(_message.Message):
    __slots__ = ("shard", "error")
    SHARD_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    shard: ShardRef
    error: Error
    def __init__(self, shard: _Optional[_Union[ShardRef, _Mapping]] = ..., error: _Optional[_Union[Error, _Mapping]] = ...) -> None: ...

class StatsRequest(_message.Message):
    __slots__ = ("shards", "source_fields", "field_usage", "clear_fielddata", "clear_fields")
    SHARDS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELDS_FIELD_NUMBER: _ClassVar[int]
    FIELD_USAGE_FIELD_NUMBER: _ClassVar[int]
    CLEAR_FIELDDATA_FIELD_NUMBER: _ClassVar[int]
    CLEAR_FIELDS_FIELD_NUMBER: _ClassVar[int]
    shards: _containers.RepeatedCompositeFieldContainer[ShardRef]
    source_fields: bool
    field_usage: bool
    clear_fielddata: bool
    clear_fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, shards: _Optional[_Iterable[_Union[ShardRef, _Mapping]]] = ..., source_fields: _Optional[bool] = ..., field_usage: _Optional[bool] = ..., clear_fielddata: _Optional[bool] = ..., clear_fields: _Optional[_Iterable[str]] = ...) -> None: ...

class ShardStats(_message.Message):
    __slots__ = ("shard", "num_docs", "size_in_bytes", "max_seq_no", "segments", "request_cache", "completion_bytes", "write_load", "dense_vector_values", "sparse_vector_values", "field_usage_json", "fielddata_bytes")
    class CompletionBytesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class FielddataBytesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    SHARD_FIELD_NUMBER: _ClassVar[int]
    NUM_DOCS_FIELD_NUMBER: _ClassVar[int]
    SIZE_IN_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_SEQ_NO_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_CACHE_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_BYTES_FIELD_NUMBER: _ClassVar[int]
    WRITE_LOAD_FIELD_NUMBER: _ClassVar[int]
    DENSE_VECTOR_VALUES_FIELD_NUMBER: _ClassVar[int]
    SPARSE_VECTOR_VALUES_FIELD_NUMBER: _ClassVar[int]
    FIELD_USAGE_JSON_FIELD_NUMBER: _ClassVar[int]
    FIELDDATA_BYTES_FIELD_NUMBER: _ClassVar[int]
    shard: ShardRef
    num_docs: int
    size_in_bytes: int
    max_seq_no: int
    segments: _containers.RepeatedCompositeFieldContainer[SegmentStats]
    request_cache: RequestCacheStats
    completion_bytes: _containers.ScalarMap[str, int]
    write_load: WriteLoad
    dense_vector_values: int
    sparse_vector_values: int
    field_usage_json: bytes
    fielddata_bytes: _containers.ScalarMap[str, int]
    def __init__(self, shard: _Optional[_Union[ShardRef, _Mapping]] = ..., num_docs: _Optional[int] = ..., size_in_bytes: _Optional[int] = ..., max_seq_no: _Optional[int] = ..., segments: _Optional[_Iterable[_Union[SegmentStats, _Mapping]]] = ..., request_cache: _Optional[_Union[RequestCacheStats, _Mapping]] = ..., completion_bytes: _Optional[_Mapping[str, int]] = ..., write_load: _Optional[_Union[WriteLoad, _Mapping]] = ..., dense_vector_values: _Optional[int] = ..., sparse_vector_values: _Optional[int] = ..., field_usage_json: _Optional[bytes] = ..., fielddata_bytes: _Optional[_Mapping[str, int]] = ...) -> None: ...

class WriteLoad(_message.Message):
    __slots__ = ("index_time_nanos", "elapsed_seconds", "load", "recent", "peak")
    INDEX_TIME_NANOS_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    LOAD_FIELD_NUMBER: _ClassVar[int]
    RECENT_FIELD_NUMBER: _ClassVar[int]
    PEAK_FIELD_NUMBER: _ClassVar[int]
    index_time_nanos: int
    elapsed_seconds: float
    load: float
    recent: float
    peak: float
    def __init__(self, index_time_nanos: _Optional[int] = ..., elapsed_seconds: _Optional[float] = ..., load: _Optional[float] = ..., recent: _Optional[float] = ..., peak: _Optional[float] = ...) -> None: ...

class RequestCacheStats(_message.Message):
    __slots__ = ("memory_size_in_bytes", "evictions", "hit_count", "miss_count")
    MEMORY_SIZE_IN_BYTES_FIELD_NUMBER: _ClassVar[int]
    EVICTIONS_FIELD_NUMBER: _ClassVar[int]
    HIT_COUNT_FIELD_NUMBER: _ClassVar[int]
    MISS_COUNT_FIELD_NUMBER: _ClassVar[int]
    memory_size_in_bytes: int
    evictions: int
    hit_count: int
    miss_count: int
    def __init__(self, memory_size_in_bytes: _Optional[int] = ..., evictions: _Optional[int] = ..., hit_count: _Optional[int] = ..., miss_count: _Optional[int] = ...) -> None: ...

class SegmentStats(_message.Message):
    __slots__ = ("name", "num_docs", "deleted_docs", "size_in_bytes")
    NAME_FIELD_NUMBER: _ClassVar[int]
    NUM_DOCS_FIELD_NUMBER: _ClassVar[int]
    DELETED_DOCS_FIELD_NUMBER: _ClassVar[int]
    SIZE_IN_BYTES_FIELD_NUMBER: _ClassVar[int]
    name: str
    num_docs: int
    deleted_docs: int
    size_in_bytes: int
    def __init__(self, name: _Optional[str] = ..., num_docs: _Optional[int] = ..., deleted_docs: _Optional[int] = ..., size_in_bytes: _Optional[int] = ...) -> None: ...

class StatsResponse(_message.Message):
    __slots__ = ("shards", "error")
    SHARDS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    shards: _containers.RepeatedCompositeFieldContainer[ShardStats]
    error: Error
    def __init__(self, shards: _Optional[_Iterable[_Union[ShardStats, _Mapping]]] = ..., error: _Optional[_Union[Error, _Mapping]] = ...) -> None: ...

class ExplainRequest(_message.Message):
    __slots__ = ("shard", "id", "query_json", "now_millis")
    SHARD_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    QUERY_JSON_FIELD_NUMBER: _ClassVar[int]
    NOW_MILLIS_FIELD_NUMBER: _ClassVar[int]
    shard: ShardRef
    id: str
    query_json: bytes
    now_millis: int
    def __init__(self, shard: _Optional[_Union[ShardRef, _Mapping]] = ..., id: _Optional[str] = ..., query_json: _Optional[bytes] = ..., now_millis: _Optional[int] = ...) -> None: ...

class ExplainResponse(_message.Message):
    __slots__ = ("found", "matched", "explanation_json", "version", "seq_no", "primary_term", "source", "error")
    FOUND_FIELD_NUMBER: _ClassVar[int]
    MATCHED_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_JSON_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SEQ_NO_FIELD_NUMBER: _ClassVar[int]
    PRIMARY_TERM_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    found: bool
    matched: bool
    explanation_json: bytes
    version: int
    seq_no: int
    primary_term: int
    source: bytes
    error: Error
    def __init__(self, found: _Optional[bool] = ..., matched: _Optional[bool] = ..., explanation_json: _Optional[bytes] = ..., version: _Optional[int] = ..., seq_no: _Optional[int] = ..., primary_term: _Optional[int] = ..., source: _Optional[bytes] = ..., error: _Optional[_Union[Error, _Mapping]] = ...) -> None: ...

class ValidateRequest(_message.Message):
    __slots__ = ("shards", "query_json", "now_millis")
    SHARDS_FIELD_NUMBER: _ClassVar[int]
    QUERY_JSON_FIELD_NUMBER: _ClassVar[int]
    NOW_MILLIS_FIELD_NUMBER: _ClassVar[int]
    shards: _containers.RepeatedCompositeFieldContainer[ShardRef]
    query_json: bytes
    now_millis: int
    def __init__(self, shards: _Optional[_Iterable[_Union[ShardRef, _Mapping]]] = ..., query_json: _Optional[bytes] = ..., now_millis: _Optional[int] = ...) -> None: ...

class ShardValidation(_message.Message):
    __slots__ = ("shard", "explanation", "error")
    SHARD_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    shard: ShardRef
    explanation: str
    error: Error
    def __init__(self, shard: _Optional[_Union[ShardRef, _Mapping]] = ..., explanation: _Optional[str] = ..., error: _Optional[_Union[Error, _Mapping]] = ...) -> None: ...

class ValidateResponse(_message.Message):
    __slots__ = ("results", "error")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ShardValidation]
    error: Error
    def __init__(self, results: _Optional[_Iterable[_Union[ShardValidation, _Mapping]]] = ..., error: _Optional[_Union[Error, _Mapping]] = ...) -> None: ...

class TermvectorsRequest(_message.Message):
    __slots__ = ("shard", "id", "not_realtime", "doc_json", "options_json")
    SHARD_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NOT_REALTIME_FIELD_NUMBER: _ClassVar[int]
    DOC_JSON_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_JSON_FIELD_NUMBER: _ClassVar[int]
    shard: ShardRef
    id: str
    not_realtime: bool
    doc_json: bytes
    options_json: bytes
    def __init__(self, shard: _Optional[_Union[ShardRef, _Mapping]] = ..., id: _Optional[str] = ..., not_realtime: _Optional[bool] = ..., doc_json: _Optional[bytes] = ..., options_json: _Optional[bytes] = ...) -> None: ...

class TermvectorsResponse(_message.Message):
    __slots__ = ("found", "version", "term_vectors_json", "error")
    FOUND_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TERM_VECTORS_JSON_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    found: bool
    version: int
    term_vectors_json: bytes
    error: Error
    def __init__(self, found: _Optional[bool] = ..., version: _Optional[int] = ..., term_vectors_json: _Optional[bytes] = ..., error: _Optional[_Union[Error, _Mapping]] = ...) -> None: ...
