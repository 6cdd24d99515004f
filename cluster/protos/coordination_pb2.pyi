from cluster.protos import leaf_pb2 as _leaf_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JoinRequest(_message.Message):
    __slots__ = ("node_json", "cluster_name")
    NODE_JSON_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_NAME_FIELD_NUMBER: _ClassVar[int]
    node_json: bytes
    cluster_name: str
    def __init__(self, node_json: _Optional[bytes] = ..., cluster_name: _Optional[str] = ...) -> None: ...

class JoinResponse(_message.Message):
    __slots__ = ("lease_seconds", "master_node", "error")
    LEASE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MASTER_NODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    lease_seconds: float
    master_node: str
    error: _leaf_pb2.Error
    def __init__(self, lease_seconds: _Optional[float] = ..., master_node: _Optional[str] = ..., error: _Optional[_Union[_leaf_pb2.Error, _Mapping]] = ...) -> None: ...

class HeartbeatRequest(_message.Message):
    __slots__ = ("node_id",)
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    def __init__(self, node_id: _Optional[str] = ...) -> None: ...

class HeartbeatResponse(_message.Message):
    __slots__ = ("known",)
    KNOWN_FIELD_NUMBER: _ClassVar[int]
    known: bool
    def __init__(self, known: _Optional[bool] = ...) -> None: ...

class LeaveRequest(_message.Message):
    __slots__ = ("node_id",)
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    def __init__(self, node_id: _Optional[str] = ...) -> None: ...

class LeaveResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SubscribeRequest(_message.Message):
    __slots__ = ("node_id", "known_version")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    KNOWN_VERSION_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    known_version: int
    def __init__(self, node_id: _Optional[str] = ..., known_version: _Optional[int] = ...) -> None: ...

class PublishedState(_message.Message):
    __slots__ = ("version", "state_json")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STATE_JSON_FIELD_NUMBER: _ClassVar[int]
    version: int
    state_json: bytes
    def __init__(self, version: _Optional[int] = ..., state_json: _Optional[bytes] = ...) -> None: ...

class ActionRequest(_message.Message):
    __slots__ = ("method", "args_json")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    ARGS_JSON_FIELD_NUMBER: _ClassVar[int]
    method: str
    args_json: bytes
    def __init__(self, method: _Optional[str] = ..., args_json: _Optional[bytes] = ...) -> None: ...

class ActionResponse(_message.Message):
    __slots__ = ("result_json", "state_version", "error", "error_class")
    RESULT_JSON_FIELD_NUMBER: _ClassVar[int]
    STATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ERROR_CLASS_FIELD_NUMBER: _ClassVar[int]
    result_json: bytes
    state_version: int
    error: _leaf_pb2.Error
    error_class: str
    def __init__(self, result_json: _Optional[bytes] = ..., state_version: _Optional[int] = ..., error: _Optional[_Union[_leaf_pb2.Error, _Mapping]] = ..., error_class: _Optional[str] = ...) -> None: ...
