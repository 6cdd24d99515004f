"""The ``_nodes`` route table: info (``node_info``), stats (``node_stats``), hot threads and secure-settings
reload (``node_ops``). Literal paths come before ``/_nodes/{node_id}/…`` so that ``stats`` or
``hot_threads`` is never read as a node id."""

from __future__ import annotations

from starlette.routing import Route

from server.handlers import node_ops
from server.handlers.node_info import nodes_info
from server.handlers.node_stats import nodes_stats

routes = [
    *node_ops.routes,
    *node_ops.usage_routes,
    Route("/_nodes/stats", nodes_stats, methods=["GET"]),
    Route("/_nodes/stats/{metric}", nodes_stats, methods=["GET"]),
    Route("/_nodes/stats/{metric}/{index_metric}", nodes_stats, methods=["GET"]),
    Route("/_nodes/{node_id}/stats", nodes_stats, methods=["GET"]),
    Route("/_nodes/{node_id}/stats/{metric}", nodes_stats, methods=["GET"]),
    Route("/_nodes/{node_id}/stats/{metric}/{index_metric}", nodes_stats, methods=["GET"]),
    Route("/_nodes", nodes_info, methods=["GET"]),
    Route("/_nodes/{rest:path}", nodes_info, methods=["GET"]),
]
