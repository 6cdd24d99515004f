"""A node's persistent identity: ES's node id, a random 22-character string kept in the data directory.

The id is made once (``<data>/node_id``) and read back on every start, so a restarted node is the same cluster
member and its shard copies (which the routing table files under its id) are found again. Node names are
for people; every place that names a node in an API reads the id from cluster state.

The embedded server (one node, no cluster) keeps the id it always had, ``EMBEDDED_NODE_ID``: clients, task
ids and tests have seen it since the first release, and with one node there is nothing for it to collide
with. A node started as a cluster member gets a random one.
"""

from __future__ import annotations

import base64
import os

__all__ = ["EMBEDDED_NODE_ID", "new_node_id", "persistent_node_id"]

FILE_NAME = "node_id"
EMBEDDED_NODE_ID = "quidditch-node-0"


def new_node_id() -> str:
    """22 url-safe characters, as ES's ``UUIDs.randomBase64UUID``."""
    return base64.urlsafe_b64encode(os.urandom(16)).decode("ascii").rstrip("=")


def persistent_node_id(data_dir: str, *, first: str | None = None) -> str:
    """The id stored in ``data_dir``, made and fsynced on first use (``first``, or a random one)."""
    path = os.path.join(data_dir, FILE_NAME)
    try:
        with open(path, encoding="ascii") as fh:
            value = fh.read().strip()
        if value:
            return value
    except FileNotFoundError:
        pass
    os.makedirs(data_dir, exist_ok=True)
    value = first or new_node_id()
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="ascii") as fh:
        fh.write(value)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return value
