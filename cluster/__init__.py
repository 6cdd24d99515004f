"""Quidditch's cluster layer: state, master, data node, root/leaf search and the write path."""

from cluster.embedded import EmbeddedCluster

__all__ = ["EmbeddedCluster"]
