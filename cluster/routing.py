"""Document routing: ``shard = murmur3(_routing or _id) mod number_of_shards``, as Elasticsearch does.

ES hashes the UTF-16 code units of the routing string with Murmur3 (x86, 32-bit, seed 0) and takes
``floorMod(hash, routing_num_shards) // routing_factor``; with no index split, that reduces to
``floorMod(hash, number_of_shards)`` when ``routing_num_shards == number_of_shards``. We keep the hash
(so ids route like ES's) and use the simple modulo.
"""

from __future__ import annotations

import mmh3


def shard_for(routing: str, number_of_shards: int) -> int:
    if number_of_shards <= 1:
        return 0
    code_units = routing.encode("utf-16-le")
    value = mmh3.hash(code_units, 0, signed=True)
    return value % number_of_shards
