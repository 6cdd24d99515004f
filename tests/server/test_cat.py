from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx
import pytest
import yaml

from native.errors import IllegalArgument
from server.cat import CatColumn, format_byte_size, format_time_millis, render_cat

Row = dict[str, str | int | float | None]

COLUMNS = [
    CatColumn("health", ("h",), "current health status"),
    CatColumn("index", ("i", "idx"), "index name"),
    CatColumn("docs.count", ("dc", "docsCount"), "available docs", kind="int"),
    CatColumn("store.size", ("ss", "storeSize"), "store size of primaries & replicas", kind="bytes"),
    CatColumn("uuid", ("id",), "index uuid", default=False),
    CatColumn("query.time", ("qti",), "time spent in query phase", default=False, kind="time"),
]
ROWS: list[Row] = [
    {"health": "green", "index": "logs", "docs.count": 1200, "store.size": 4608, "uuid": "u1",
     "query.time": 1500},
    {"health": "yellow", "index": "a", "docs.count": 7, "store.size": 225, "uuid": "u2", "query.time": 12},
    {"health": "red", "index": "metrics-long", "docs.count": None, "store.size": None, "uuid": "u3",
     "query.time": None},
]  # fmt: skip


def text(params: dict[str, str], rows: Sequence[Mapping[str, str | int | float | None]] | None = None) -> str:
    body, ctype = render_cat(ROWS if rows is None else rows, COLUMNS, params)
    assert ctype == "text/plain; charset=UTF-8"
    return body.decode()


def test_default_text_is_aligned_with_numbers_right_and_trailing_newline() -> None:
    assert text({}) == (
        "green  logs         1200 4.5kb\nyellow a               7  225b\nred    metrics-long           \n"
    )


def test_v_adds_header_row_aligned_like_its_column() -> None:
    assert text({"v": ""}) == (
        "health index        docs.count store.size\n"
        "green  logs               1200      4.5kb\n"
        "yellow a                     7       225b\n"
        "red    metrics-long                      \n"
    )
    assert text({"v": "false"}) == text({})


def test_h_selects_by_name_alias_and_wildcard_in_order() -> None:
    assert text({"h": "i,dc", "v": "true"}) == (
        "i              dc\nlogs         1200\na               7\nmetrics-long     \n"
    )
    assert text({"h": "uuid,nope,index"}) == "u1 logs\nu2 a\nu3 metrics-long\n"  # last column: no padding
    wild = json.loads(render_cat(ROWS, COLUMNS, {"h": "*.count,store*", "format": "json"})[0])
    assert wild[0] == {"docs.count": "1200", "store.size": "4.5kb"}
    by_alias_glob = json.loads(render_cat(ROWS, COLUMNS, {"h": "qt*", "format": "json"})[0])
    assert by_alias_glob[0] == {"query.time": "1.5s"}


def test_sort_numeric_desc_and_multiple_keys_with_blanks_last() -> None:
    lines = text({"h": "index", "s": "docs.count:desc"}).splitlines()
    assert [ln.strip() for ln in lines] == ["logs", "a", "metrics-long"]
    lines = text({"h": "index", "s": "dc"}).splitlines()
    assert [ln.strip() for ln in lines] == ["a", "logs", "metrics-long"]
    rows = [
        {"health": "green", "index": "b"},
        {"health": "red", "index": "a"},
        {"health": "green", "index": "a"},
    ]
    lines = text({"h": "health,index", "s": "health:asc,index:desc"}, rows).splitlines()
    assert lines == ["green b", "green a", "red   a"]
    # sorting by a column that is not displayed, and by store size in bytes rather than text
    lines = text({"h": "index", "s": "ss:asc"}).splitlines()
    assert [ln.strip() for ln in lines] == ["a", "logs", "metrics-long"]


def test_sort_by_unknown_column_is_an_error() -> None:
    with pytest.raises(IllegalArgument, match="Unable to sort by unknown sort key `bogus`"):
        render_cat(ROWS, COLUMNS, {"s": "bogus"})


def test_json_values_are_strings_and_none_is_null() -> None:
    body, ctype = render_cat(ROWS, COLUMNS, {"format": "json"})
    assert ctype == "application/json; charset=UTF-8"
    data = json.loads(body)
    assert data[0] == {"health": "green", "index": "logs", "docs.count": "1200", "store.size": "4.5kb"}
    assert data[2] == {"health": "red", "index": "metrics-long", "docs.count": None, "store.size": None}
    assert json.loads(render_cat([], COLUMNS, {"format": "json"})[0]) == []


def test_json_pretty_and_filter_path() -> None:
    body, _ = render_cat(ROWS, COLUMNS, {"format": "json", "pretty": "", "filter_path": "index"})
    assert body.startswith(b"[\n  {\n")
    assert json.loads(body) == [{"index": "logs"}, {"index": "a"}, {"index": "metrics-long"}]


def test_bytes_param_gives_integer_units() -> None:
    rows: list[Row] = [{"index": "x", "store.size": 5 * 1024 * 1024 + 10}]
    for unit, expected in [("b", "5242890"), ("kb", "5120"), ("k", "5120"), ("mb", "5"), ("gb", "0")]:
        data = json.loads(render_cat(rows, COLUMNS, {"format": "json", "h": "ss", "bytes": unit})[0])
        assert data == [{"ss": expected}]
    with pytest.raises(IllegalArgument):
        render_cat(rows, COLUMNS, {"bytes": "zz"})


def test_time_param() -> None:
    data = json.loads(render_cat(ROWS[:1], COLUMNS, {"format": "json", "h": "qti", "time": "ms"})[0])
    assert data == [{"qti": "1500"}]
    data = json.loads(render_cat(ROWS[:1], COLUMNS, {"format": "json", "h": "qti", "time": "s"})[0])
    assert data == [{"qti": "1"}]


def test_yaml() -> None:
    body, ctype = render_cat(ROWS[:2], COLUMNS, {"format": "yaml", "h": "index,dc"})
    assert ctype == "application/yaml"
    assert body.startswith(b"---\n")
    assert yaml.safe_load(body) == [{"index": "logs", "dc": "1200"}, {"index": "a", "dc": "7"}]


def test_help_lists_every_column_with_aliases() -> None:
    body, ctype = render_cat(ROWS, COLUMNS, {"help": ""})
    assert ctype.startswith("text/plain")
    lines = body.decode().splitlines()
    assert len(lines) == len(COLUMNS)
    assert lines[0] == "health     | h            | current health status"
    assert lines[2] == "docs.count | dc,docsCount | available docs"


def test_unsupported_format() -> None:
    with pytest.raises(IllegalArgument):
        render_cat(ROWS, COLUMNS, {"format": "xml"})


def test_empty_table() -> None:
    assert text({}, []) == ""
    assert text({"v": ""}, []) == "health index docs.count store.size\n"


def test_bool_and_float_cells() -> None:
    cols = [CatColumn("name"), CatColumn("ratio", kind="float"), CatColumn("ok", kind="bool")]
    rows: list[Row] = [{"name": "n", "ratio": 0.5, "ok": True}, {"name": "m", "ratio": 12.25, "ok": False}]
    assert render_cat(rows, cols, {})[0] == b"n   0.5 true\nm 12.25 false\n"


@pytest.mark.parametrize(
    ("size", "expected"),
    [(0, "0b"), (225, "225b"), (1023, "1023b"), (1024, "1kb"), (4608, "4.5kb"), (5 << 20, "5mb"),
     (int(1.25 * (1 << 30)), "1.2gb"), (3 << 40, "3tb")],
)  # fmt: skip
def test_format_byte_size(size: int, expected: str) -> None:
    assert format_byte_size(size) == expected


@pytest.mark.parametrize(
    ("millis", "expected"),
    [(0, "0s"), (12, "12ms"), (1500, "1.5s"), (90_000, "1.5m"), (3 * 86_400_000, "3d"), (0.5, "500micros")],
)
def test_format_time_millis(millis: float, expected: str) -> None:
    assert format_time_millis(millis) == expected


async def test_cat_indices_hidden_health_and_creation_date(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await c.put("/index1", json={"settings": {"number_of_replicas": 0, "index": {"hidden": True}}})
    await c.put("/visible", json={"settings": {"number_of_replicas": 0}})
    assert (await c.get("/_cat/indices/i*?h=index")).text == ""  # hidden: not matched by a wildcard
    assert (await c.get("/_cat/indices/i*?h=index&expand_wildcards=all")).text == "index1\n"
    assert (await c.get("/_cat/indices?h=index")).text == "visible\n"
    assert (await c.get("/_cat/indices/index1?h=index")).text == "index1\n"  # named: always
    assert (await c.get("/_search?size=0")).json()["_shards"]["total"] == 1  # search * skips it too
    bad = await c.get("/_cat/indices?health=invalid-health-value")
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "illegal_argument_exception"
    assert (await c.get("/_cat/indices?health=yellow&h=index")).text == ""
    created = (await c.get("/visible/_settings?flat_settings=true")).json()["visible"]["settings"]
    millis = int(created["index.creation_date"])
    import datetime

    iso = datetime.datetime.fromtimestamp(millis / 1000, tz=datetime.UTC).isoformat(timespec="milliseconds")
    row = (await c.get("/_cat/indices/visible?h=i,cd,cds")).text.split()
    assert row == ["visible", str(millis), iso.replace("+00:00", "Z")]


async def test_cat_ts_false_drops_timestamps(asgi_client: httpx.AsyncClient) -> None:
    with_ts = (await asgi_client.get("/_cat/health?v")).text.splitlines()[0].split()
    without = (await asgi_client.get("/_cat/health?v&ts=false")).text.splitlines()[0].split()
    assert with_ts[:2] == ["epoch", "timestamp"] and without == with_ts[2:]
    picked = (await asgi_client.get("/_cat/health?h=epoch,status&ts=false")).text.split()
    assert len(picked) == 2  # ``h`` wins over ``ts``


async def test_cat_nodes_measured_columns(asgi_client: httpx.AsyncClient, tmp_path: Path) -> None:
    import os
    import shutil

    text = (await asgi_client.get("/_cat/nodes?h=diskTotal,diskUsed,diskAvail,diskUsedPercent,ram.max,fdc&bytes=b"))
    total, used, avail, percent, ram_max, fds = text.text.split()
    disk = shutil.disk_usage(str(tmp_path))
    assert int(total) == disk.total and abs(int(avail) - disk.free) < 64 * 1024 * 1024
    assert int(used) == int(total) - int(avail) and float(percent) == round(100 * int(used) / int(total), 2)
    with open("/proc/meminfo", encoding="ascii") as fh:
        assert int(ram_max) == int(fh.readline().split()[1]) * 1024
    assert int(fds) > 0 and len(os.listdir("/proc/self/fd")) > 0
    header = (await asgi_client.get("/_cat/nodes?v&h=heap.current,heap.percent,heap.max")).text.splitlines()[0]
    assert header.split() == ["heap.current", "heap.percent", "heap.max"]


async def test_cat_breakers_templates_segments_allocation(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    assert (await c.get("/_cat/circuit_breaker?v")).text.splitlines()[0].split() == [
        "node_id", "breaker", "limit", "estimated", "tripped"]  # fmt: skip
    picked = (await c.get("/_cat/circuit_breaker/request,fielddata?h=breaker")).text.split()
    assert picked == ["request", "fielddata"]
    await c.put("/_component_template/cm", json={"version": 3, "template": {
        "mappings": {"properties": {"a": {"type": "keyword"}, "b": {"type": "long"}}},
        "aliases": {"x": {}, "y": {}}}})  # fmt: skip
    row = (await c.get("/_cat/component_templates/cm?h=name,version,alias_count,mapping_count")).text.split()
    assert row == ["cm", "3", "2", "2"]
    await c.put("/sg/_doc/1?refresh=true", json={"a": 1})
    seg = (await c.get("/_cat/segments/sg?h=size.memory")).text.split()
    assert seg and all(v.isdigit() for v in seg)  # a byte count, as ES prints it
    assert (await c.get("/_cat/allocation/nobody")).text == ""
    assert (await c.get("/_cat/allocation/_master?h=node")).text.strip() != ""


async def test_cat_aliases_hidden_by_expand_wildcards(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await c.put("/hid", json={"settings": {"index": {"hidden": True}}, "aliases": {"ha": {"is_hidden": True}}})
    await c.put("/vis", json={"aliases": {"va": {}}})
    assert (await c.get("/_cat/aliases?h=alias")).text.split() == ["ha", "va"]
    assert (await c.get("/_cat/aliases?h=alias&expand_wildcards=open,closed")).text.split() == ["va"]
    assert (await c.get("/_cat/aliases?h=alias&expand_wildcards=open,hidden")).text.split() == ["ha", "va"]
    await c.post("/vis/_close")
    assert (await c.get("/_cat/aliases?h=alias&expand_wildcards=open")).text.split() == []


async def test_cat_recovery_lists_closed_indices(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await c.put("/rc", json={"settings": {"number_of_shards": 2, "number_of_replicas": 0}})
    assert (await c.get("/_cat/recovery/rc?h=i,s,ty")).text.split() == ["rc", "0", "empty_store",
                                                                           "rc", "1", "empty_store"]  # fmt: skip
    await c.post("/rc/_close")
    closed = (await c.get("/_cat/recovery/rc?h=i,s,ty,top")).text.split()
    assert closed == ["rc", "0", "existing_store", "100.0%", "rc", "1", "existing_store", "100.0%"]


async def test_dot_pattern_matches_dot_aliases(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await c.put("/idx1", json={"settings": {"index": {"hidden": True}}, "aliases": {".alias1": {"is_hidden": True}}})
    assert (await c.get("/_cat/indices?h=index")).text == ""
    assert (await c.get("/_cat/indices/.*?h=index")).text == "idx1\n"  # through the dot alias
    assert (await c.get("/_cat/indices/*?h=index")).text == ""
