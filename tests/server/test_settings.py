from __future__ import annotations

import dataclasses
import socket

import pytest

from server.settings import (
    SETTINGS,
    Settings,
    load_settings,
    parse_byte_size,
    parse_time_value,
    settings_markdown_table,
)


def test_table_and_dataclass_agree() -> None:
    assert [f.name for f in dataclasses.fields(Settings)] == [s.name for s in SETTINGS]
    assert len({s.env_var for s in SETTINGS}) == len(SETTINGS)
    for s in SETTINGS:
        assert s.help and not s.help.endswith(".")
        assert s.env_var == f"QUIDDITCH_{s.name.upper()}"
        assert s.flag == "--" + s.name.replace("_", "-")


def test_defaults() -> None:
    st = load_settings(environ={})
    assert st.host == "127.0.0.1"
    assert st.port == 9200
    assert st.data_dir == "./data"
    assert st.version_number == "8.19.0"
    assert st.cluster_name == "quidditch"
    assert st.node_name == socket.gethostname()
    assert st.http_max_content_length == 100 * 1024 * 1024
    assert st.index_max_result_window == 10000
    assert st.refresh_interval == "1s"
    assert st.log_level == "info"
    assert st.search_queue_size == 1000
    with pytest.raises(dataclasses.FrozenInstanceError):
        st.port = 1  # type: ignore[misc]


def test_environment_then_overrides() -> None:
    env = {
        "QUIDDITCH_PORT": "9201",
        "QUIDDITCH_HTTP_MAX_CONTENT_LENGTH": "10kb",
        "QUIDDITCH_WRITE_QUEUE_SIZE": "7",
        "QUIDDITCH_NODE_NAME": "n1",
        "UNRELATED": "x",
    }
    st = load_settings(environ=env)
    assert (st.port, st.http_max_content_length, st.write_queue_size, st.node_name) == (
        9201,
        10240,
        7,
        "n1",
    )
    st = load_settings({"port": 9300, "http_max_content_length": "1mb", "node_name": None}, environ=env)
    assert (st.port, st.http_max_content_length, st.node_name) == (9300, 1 << 20, "n1")


def test_bad_values_and_unknown_names_are_errors() -> None:
    with pytest.raises(ValueError, match="port"):
        load_settings(environ={"QUIDDITCH_PORT": "ninety"})
    with pytest.raises(ValueError, match="http_max_content_length"):
        load_settings({"http_max_content_length": "100 parsecs"}, environ={})
    with pytest.raises(ValueError, match="refresh_interval"):
        load_settings({"refresh_interval": "soon"}, environ={})
    with pytest.raises(ValueError, match="search_queue_size"):
        load_settings({"search_queue_size": "many"}, environ={})
    with pytest.raises(ValueError, match="unknown setting"):
        load_settings({"no_such_setting": 1}, environ={})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100mb", 100 * 1024 * 1024),
        ("100MB", 100 * 1024 * 1024),
        ("1gb", 1 << 30),
        ("1.5gb", int(1.5 * (1 << 30))),
        ("512kb", 512 * 1024),
        ("10k", 10240),
        ("2t", 2 << 40),
        ("1pb", 1 << 50),
        ("42b", 42),
        ("1024", 1024),
        (" 7 mb ", 7 << 20),
        ("-1", -1),
        (5, 5),
    ],
)
def test_parse_byte_size(text: str | int, expected: int) -> None:
    assert parse_byte_size(text) == expected


@pytest.mark.parametrize("text", ["", "mb", "10 parsecs", "1.2.3kb", "-5mb"])
def test_parse_byte_size_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_byte_size(text)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1s", 1.0), ("500ms", 0.5), ("2m", 120.0), ("1h", 3600.0), ("1d", 86400.0), ("-1", -1.0), ("0", 0.0),
     ("30micros", 30e-6)],
)  # fmt: skip
def test_parse_time_value(text: str, seconds: float) -> None:
    assert parse_time_value(text) == pytest.approx(seconds)


def test_markdown_table_lists_every_setting() -> None:
    table = settings_markdown_table()
    lines = table.strip().splitlines()
    assert lines[0].startswith("| Setting |")
    assert len(lines) == 2 + len(SETTINGS)
    for s in SETTINGS:
        assert f"`{s.name}`" in table and f"`{s.env_var}`" in table
    assert "| `http_max_content_length` | `QUIDDITCH_HTTP_MAX_CONTENT_LENGTH` | `100mb` |" in table
