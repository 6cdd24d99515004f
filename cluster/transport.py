"""Which ``LeafClient`` reaches which node: the root and the write coordinator ask a ``Transport``.

The embedded server has one node and one in-process client (``LocalTransport``). A cluster node keeps a
``GrpcLeafClient`` per member, built from the member's ``transport_address`` in cluster state, and uses its
own in-process client for itself (no loopback round trip).

QuidditchError
└── NodeNotConnected (500, node_not_connected_exception): no client for that node (it left the cluster)
"""

from __future__ import annotations

from typing import Protocol

from cluster.leaf_client import LeafClient
from native.errors import QuidditchError


class NodeNotConnected(QuidditchError):
    es_type = "node_not_connected_exception"

    def __init__(self, node_id: str, reason: str = "") -> None:
        super().__init__(f"[{node_id}] {reason or 'node not connected'}", node=node_id)
        self.node_id = node_id


class Transport(Protocol):
    @property
    def local_node(self) -> str:
        """This process's node id."""

    def client(self, node_id: str) -> LeafClient:
        """The client for ``node_id``; ``NodeNotConnected`` when it is not a member."""


class LocalTransport:
    """One node, one in-process client: the embedded server."""

    def __init__(self, node_id: str, client: LeafClient) -> None:
        self._node_id = node_id
        self._client = client

    @property
    def local_node(self) -> str:
        return self._node_id

    def client(self, node_id: str) -> LeafClient:
        if node_id != self._node_id:
            raise NodeNotConnected(node_id)
        return self._client
