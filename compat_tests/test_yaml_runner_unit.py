"""Unit tests of the YAML REST test runner, against a tiny in-process fake Elasticsearch.

The fake (stdlib ``http.server`` on an ephemeral loopback port) implements just enough of the
REST API for the runner's own behaviour to be observable: documents, a ``_cat`` text answer,
errors, ``Warning`` headers, an echo endpoint and a slow endpoint.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from compat_tests.yaml_runner import (
    ApiTable,
    Report,
    SkipList,
    SkipsFileError,
    Stash,
    build_request,
    load_skips,
    load_suite,
    run_paths,
)
from compat_tests.yaml_runner.__main__ import main as cli_main
from compat_tests.yaml_runner.matching import check_match, is_truthy
from compat_tests.yaml_runner.prerequisites import version_in_ranges
from compat_tests.yaml_runner.stash import evaluate_path

SERVER_VERSION = "8.11.0"


def _path(path: str, methods: list[str], *parts: str) -> dict[str, Any]:
    return {"path": path, "methods": methods, "parts": {p: {"type": "string"} for p in parts}}


def _api(paths: list[dict[str, Any]], params: tuple[str, ...] = (), body: dict[str, Any] | None = None) -> dict:
    doc: dict[str, Any] = {"url": {"paths": paths}, "params": {p: {"type": "string"} for p in params}}
    if body is not None:
        doc["body"] = body
    return doc


SPEC = ApiTable.from_documents(
    [
        {"info": _api([_path("/", ["GET"])])},
        {"indices.create": _api([_path("/{index}", ["PUT"], "index")], body={"required": False})},
        {"indices.delete": _api([_path("/{index}", ["DELETE"], "index")], ("ignore_unavailable",))},
        {"indices.exists": _api([_path("/{index}", ["HEAD"], "index")])},
        {
            "index": _api(
                [
                    _path("/{index}/_doc/{id}", ["PUT", "POST"], "index", "id"),
                    _path("/{index}/_doc", ["POST"], "index"),
                ],
                ("refresh",),
                {"required": True},
            )
        },
        {"get": _api([_path("/{index}/_doc/{id}", ["GET"], "index", "id")], ("_source",))},
        {
            "bulk": _api(
                [_path("/_bulk", ["POST", "PUT"]), _path("/{index}/_bulk", ["POST", "PUT"], "index")],
                ("refresh",),
                {"required": True, "serialize": "bulk"},
            )
        },
        {"count": _api([_path("/_count", ["POST", "GET"]), _path("/{index}/_count", ["POST", "GET"], "index")])},
        {"cat.count": _api([_path("/_cat/count", ["GET"])], ("v",))},
        {
            "test.echo": _api(
                [_path("/_echo", ["POST"]), _path("/_echo/{target}", ["POST"], "target")],
                ("flag",),
                {"required": False},
            )
        },
        {"test.slow": _api([_path("/_slow", ["GET"])])},
        {"test.status": _api([_path("/_status/{code}", ["GET"], "code")])},
    ]
)


# --------------------------------------------------------------------------------------------
# the fake server
# --------------------------------------------------------------------------------------------
class FakeES:
    def __init__(self) -> None:
        self.indices: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.auto_id = 0


def _error(status: int, etype: str, reason: str) -> tuple[int, dict[str, Any]]:
    error = {"root_cause": [{"type": etype, "reason": reason}], "type": etype, "reason": reason}
    return status, {"error": error, "status": status}


class Handler(BaseHTTPRequestHandler):
    server_version = "FakeES"
    fake: FakeES  # set on the subclass

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass

    def _send(self, status: int, body: Any, content_type: str = "application/json", headers: Any = ()) -> None:
        data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _handle(self) -> None:
        url = urlsplit(self.path)
        path, query = url.path, dict(parse_qsl(url.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        fake = self.fake
        with fake.lock:
            fake.requests.append((self.command, self.path))
        method = self.command
        warn = []
        if path == "/" and method == "GET":
            return self._send(200, {"version": {"number": SERVER_VERSION, "build_flavor": "default"}})
        if path == "/_cluster/state":
            return self._send(200, {"nodes_features": [{"node_id": "n1", "features": ["feature_present"]}]})
        if path in ("/_index_template", "/_component_template", "/_template", "/_data_stream/*"):
            return self._send(*_error(404, "no_handler", "no handler"))
        if path == "/*" and method == "DELETE":
            fake.indices.clear()
            return self._send(200, {"acknowledged": True})
        if path.startswith("/_echo"):
            return self._send(
                200,
                {
                    "method": method,
                    "path": path,
                    "query": query,
                    "content_type": self.headers.get("Content-Type"),
                    "authorization": self.headers.get("Authorization"),
                    "body_text": raw.decode(),
                },
            )
        if path == "/_slow":
            time.sleep(2)
            return self._send(200, {"slow": True})
        if m := re.fullmatch(r"/_status/(\d+)", path):
            return self._send(*_error(int(m.group(1)), "some_exception", f"status {m.group(1)} on purpose"))
        if path == "/_cat/count":
            total = sum(len(docs) for docs in fake.indices.values())
            header = "epoch      timestamp count\n" if query.get("v") == "true" else ""
            return self._send(200, f"{header}1700000000 12:00:00  {total}\n".encode(), "text/plain; charset=UTF-8")
        if path == "/_bulk":
            items = []
            lines = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
            for action, doc in zip(lines[::2], lines[1::2], strict=True):
                meta = action["index"]
                fake.indices.setdefault(meta["_index"], {})[meta["_id"]] = doc
                items.append({"index": {"_index": meta["_index"], "_id": meta["_id"], "status": 201}})
            ctype = self.headers.get("Content-Type")
            return self._send(200, {"errors": False, "items": items, "content_type": ctype})
        if m := re.fullmatch(r"/([^/_][^/]*)/_count", path):
            return self._send(200, {"count": len(fake.indices.get(m.group(1), {}))})
        if m := re.fullmatch(r"/([^/_][^/]*)/_doc(?:/([^/]+))?", path):
            index, doc_id = m.group(1), m.group(2)
            if method in ("PUT", "POST"):
                doc = json.loads(raw or b"{}")
                if doc_id is None:
                    fake.auto_id += 1
                    doc_id = f"auto{fake.auto_id}"
                docs = fake.indices.setdefault(index, {})
                result = "updated" if doc_id in docs else "created"
                docs[doc_id] = doc
                if "old_field" in doc:
                    warn.append(("Warning", f'299 Elasticsearch-{SERVER_VERSION} "[old_field] is deprecated" "now"'))
                body = {"_index": index, "_id": doc_id, "result": result, "_version": 1, "_seq_no": 0}
                return self._send(201 if result == "created" else 200, body, headers=warn)
            docs = fake.indices.get(index)
            if docs is None:
                return self._send(*_error(404, "index_not_found_exception", f"no such index [{index}]"))
            if doc_id not in docs:
                return self._send(404, {"_index": index, "_id": doc_id, "found": False})
            return self._send(200, {"_index": index, "_id": doc_id, "found": True, "_source": docs[doc_id]})
        if m := re.fullmatch(r"/([^/_][^/]*)", path):
            index = m.group(1)
            if method == "PUT":
                if index in fake.indices:
                    return self._send(
                        *_error(400, "resource_already_exists_exception", f"index [{index}] already exists")
                    )
                fake.indices[index] = {}
                return self._send(200, {"acknowledged": True, "index": index})
            if method == "HEAD":
                return self._send(200 if index in fake.indices else 404, None)
            if method == "DELETE":
                if index not in fake.indices:
                    return self._send(*_error(404, "index_not_found_exception", f"no such index [{index}]"))
                del fake.indices[index]
                return self._send(200, {"acknowledged": True})
        return self._send(*_error(405, "method_not_allowed", f"{method} {path}"))

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle


@pytest.fixture
def fake_es() -> Iterator[tuple[str, FakeES]]:
    fake = FakeES()
    handler = type("BoundHandler", (Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", fake
    finally:
        server.shutdown()
        server.server_close()


def run_yaml(tmp_path: Path, url: str, text: str, name: str = "suite/10_test.yml", **kwargs: Any) -> Report:
    file = tmp_path / "suites" / name
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text)
    kwargs.setdefault("api_spec", SPEC)
    return run_paths(url, [tmp_path / "suites"], **kwargs)


def statuses(report: Report) -> dict[str, tuple[str, str]]:
    return {r.id.split("::", 1)[1]: (r.status, r.reason) for r in report}


# --------------------------------------------------------------------------------------------
# pure units
# --------------------------------------------------------------------------------------------
def test_loader_sections_prerequisites_and_timestamps(tmp_path: Path) -> None:
    file = tmp_path / "a" / "x.yml"
    file.parent.mkdir()
    file.write_text(
        "---\nrequires:\n  serverless: true\n  stack: false\n"
        "---\nsetup:\n  - skip:\n      features: headers\n  - do: {info: {}}\n"
        "---\nteardown:\n  - do: {info: {}}\n"
        "---\n'first':\n  - requires:\n      cluster_features: gte_v8.0.0\n      reason: r\n"
        "  - match: {when: 2023-05-25T12:30:00.000Z, 1: one}\n"
        "---\n'second':\n  - is_true: ''\n"
    )
    suite = load_suite(file, tmp_path)
    assert suite.rel_path == "a/x.yml" and suite.folder == "a"
    assert suite.file_requires == {"serverless": True, "stack": False}
    assert [t.name for t in suite.tests] == ["first", "second"]
    assert suite.tests[0].steps[0].args == {"when": "2023-05-25T12:30:00.000Z", "1": "one"}
    assert [p.kind for p in suite.prerequisites] == ["skip"]
    assert suite.tests[0].prerequisites[0].args["cluster_features"] == "gte_v8.0.0"
    assert suite.test_id(suite.tests[1]) == "a/x.yml::second"


def test_stash_resolution_and_paths() -> None:
    stash = Stash()
    stash.set("id", 7)
    stash.set("node", "n1")
    stash.set("body", {"nodes": {"n1": {"name": "alpha"}}})
    assert stash.resolve({"a": "$id", "b": ["x${id}y"], "$node": {"k": "${node}"}}) == {
        "a": 7,
        "b": ["x7y"],
        "n1": {"k": "n1"},
    }
    assert stash.get("$body.nodes.n1.name") == "alpha"
    body = {"a.b": {"c": [10, {"d": True}]}, "nodes": {"n1": {"x": 1}}}
    assert evaluate_path(body, r"a\.b.c.1.d") is True
    assert evaluate_path(body, r"a\.b.c.5") is None
    assert evaluate_path(body, "nodes.$node.x", stash) == 1
    assert evaluate_path(body, "nodes._arbitrary_key_") == "n1"
    assert evaluate_path(body, "nodes.${node}.x", stash) == 1


def test_match_semantics() -> None:
    assert check_match(1.0, 1) is None
    assert check_match(True, 1) is not None
    assert check_match("1", 1) is not None
    assert check_match({"a": [1, {"b": "x"}]}, {"a": [1, {"b": "x"}]}) is None
    assert check_match({"a": 1, "extra": 2}, {"a": 1}) is not None
    assert check_match("epoch 123\n", "/^ epoch \\s+ \\d+ \\n $/") is None  # x-mode: whitespace ignored
    assert check_match(42, "/^4\\d$/") is None
    assert check_match("abc", "/^b/") is not None
    assert [is_truthy(v) for v in (None, False, "", "false", "FALSE", 0, "0")] == [False] * 7
    assert [is_truthy(v) for v in (True, 1, "x", [], {}, 0.5)] == [True] * 6


def test_version_ranges() -> None:
    assert version_in_ranges((8, 11, 0), " - 8.11.99")
    assert not version_in_ranges((8, 11, 0), " - 7.99.99")
    assert version_in_ranges((8, 11, 0), "8.0.0 - 8.12.0")
    assert version_in_ranges((8, 11, 0), " - 7.0.99, 8.8.0 - ")
    assert version_in_ranges((8, 11, 0), "all")


def test_build_request_paths_params_and_ndjson() -> None:
    req = build_request(SPEC.get("index"), {"index": "my idx", "id": "a/b", "refresh": True, "body": {"f": 1}})
    assert (req.method, req.path, req.params) == ("PUT", "/my%20idx/_doc/a%2Fb", (("refresh", "true"),))
    assert json.loads(req.body or b"") == {"f": 1} and req.headers["Content-Type"] == "application/json"
    req = build_request(SPEC.get("index"), {"index": "i", "body": {}})
    assert (req.method, req.path) == ("POST", "/i/_doc")
    req = build_request(SPEC.get("indices.delete"), {"index": ["a", "b"], "ignore": 404})
    assert (req.path, req.params, req.ignore) == ("/a,b", (), frozenset({404}))
    req = build_request(SPEC.get("bulk"), {"body": [{"index": {"_index": "i"}}, '{"f": "raw"}']})
    assert req.body == b'{"index":{"_index":"i"}}\n{"f": "raw"}\n'
    assert req.headers["Content-Type"] == "application/x-ndjson"
    req = build_request(SPEC.get("count"), {})  # no body: the first method the spec lists
    assert (req.method, req.path) == ("POST", "/_count")


def test_skips_file_format(tmp_path: Path) -> None:
    file = tmp_path / "skips.yaml"
    file.write_text(
        "- path: 'search/*'\n  reason: not yet\n- path: 'get/10_x.yml::*source*'\n  reason: no source filtering\n"
    )
    skips = load_skips(file)
    assert skips.reason_for("search/deep/1.yml::t") == "not yet"
    assert skips.reason_for("get/10_x.yml::with _source") == "no source filtering"
    assert skips.reason_for("get/10_x.yml::plain") is None
    file.write_text("- path: 'search/*'\n")
    with pytest.raises(SkipsFileError, match="no reason"):
        load_skips(file)


# --------------------------------------------------------------------------------------------
# end to end against the fake server
# --------------------------------------------------------------------------------------------
def test_do_match_regex_set_and_stash(tmp_path: Path, fake_es: tuple[str, FakeES]) -> None:
    url, _ = fake_es
    report = run_yaml(
        tmp_path,
        url,
        """
setup:
  - do:
      indices.create: {index: test}
---
"index and get":
  - do:
      index: {index: test, body: {title: "hello world", n: 3}}
  - set: {_id: doc_id}
  - match: {_id: /^auto\\d+$/}
  - match: {result: created}
  - do:
      get: {index: test, id: $doc_id}
  - match: {_id: $doc_id}
  - match: {_source: {title: /hello \\s world/, n: 3.0}}
  - match:
      $body:
        _index: test
        _id: $doc_id
        found: true
        _source: {title: "hello world", n: 3}
  - set: {_source: src}
  - match: {$src.title: "hello world"}
  - length: {_source: 2}
  - length: {_source.title: 11}
---
"stash in path and key":
  - do:
      index: {index: test, id: k1, body: {inner: {k1: {v: 5}}}}
  - set: {_id: key}
  - do: {get: {index: test, id: "${key}"}}
  - match: {_source.inner.$key.v: 5}
  - match: {_source.inner: {$key: {v: 5}}}
  - match: {_source.inner._arbitrary_key_: k1}
---
"a failing match":
  - do: {info: {}}
  - match: {version.number: "1.0.0"}
""",
    )
    got = statuses(report)
    assert got["index and get"] == ("pass", "")
    assert got["stash in path and key"] == ("pass", "")
    assert got["a failing match"][0] == "fail"
    assert "version.number" in got["a failing match"][1] and "8.11.0" in got["a failing match"][1]


def test_assertions_truthiness_comparisons_contains(tmp_path: Path, fake_es: tuple[str, FakeES]) -> None:
    url, _ = fake_es
    report = run_yaml(
        tmp_path,
        url,
        """
"assertions":
  - do:
      test.echo: {body: {zero: 0, f: "false", e: "", t: "yes", list: [{name: a, v: 1}, {name: b}], x: 0.333}}
  - set: {body_text: sent}
  - is_true: method
  - is_false: query.missing
  - is_false: nothing.at.all
  - exists: body_text
  - not_exists: nope
  - do:
      test.echo: {body: $sent}
  - is_true: body_text
  - match: {method: POST}
  - do:
      test.echo: {target: x, flag: [a, b], body: {"n": 5, "s": "text with words", "l": [1, 2]}}
  - match: {path: /_echo/x}
  - match: {query.flag: "a,b"}
---
"comparisons":
  - do: {count: {index: nothing}}
  - gte: {count: 0}
  - lte: {count: 0}
  - lt: {count: 1}
  - gt: {count: -1}
---
"contains and close_to":
  - requires:
      test_runner_features: [contains, close_to]
  - do:
      bulk:
        refresh: true
        body:
          - index: {_index: c, _id: "1"}
          - {name: a}
          - index: {_index: c, _id: "2"}
          - {name: b}
  - contains: {items: {index: {_index: c, _id: "2", status: 201}}}
  - contains: {content_type: "ndjson"}
  - do: {test.echo: {body: {v: 0.3333}}}
  - close_to: {body_text: {value: 0, error: 1}}
---
"gt fails":
  - do: {count: {index: nothing}}
  - gt: {count: 0}
---
"is_true fails on zero":
  - do: {count: {index: nothing}}
  - is_true: count
""",
    )
    got = statuses(report)
    assert got["assertions"] == ("pass", "")
    assert got["comparisons"] == ("pass", "")
    assert got["contains and close_to"][0] == "fail"  # close_to on a string must fail...
    assert "expected a number" in got["contains and close_to"][1]  # ...after contains passed
    assert got["gt fails"][0] == "fail"
    assert got["is_true fails on zero"][0] == "fail"


def test_catch_and_head(tmp_path: Path, fake_es: tuple[str, FakeES]) -> None:
    url, _ = fake_es
    report = run_yaml(
        tmp_path,
        url,
        """
"catches":
  - do: {catch: missing, get: {index: nope, id: "1"}}
  - match: {error.type: index_not_found_exception}
  - match: {status: 404}
  - do: {indices.create: {index: dup}}
  - do: {catch: bad_request, indices.create: {index: dup}}
  - do: {catch: "/already.exists/", indices.create: {index: dup}}
  - do: {catch: /resource_already_exists_exception/, indices.create: {index: dup}}
  - do: {catch: request, test.status: {code: 500}}
  - do: {catch: unavailable, test.status: {code: 503}}
  - do: {catch: conflict, test.status: {code: 409}}
  - do: {catch: param, get: {index: x, id: "1", bogus: 1}}
  - do: {indices.delete: {index: never, ignore: 404}}
  - do: {indices.exists: {index: dup}}
  - is_true: ''
  - do: {indices.exists: {index: never}}
  - is_false: ''
---
"catch mismatch fails":
  - do: {catch: missing, info: {}}
---
"wrong status fails":
  - do: {catch: conflict, test.status: {code: 400}}
---
"regex mismatch fails":
  - do: {catch: /something_else/, test.status: {code: 400}}
---
"request does not take named":
  - do: {catch: request, test.status: {code: 404}}
---
"unexpected error fails":
  - do: {test.status: {code: 400}}
""",
    )
    got = statuses(report)
    assert got["catches"] == ("pass", "")
    for name in (
        "catch mismatch fails",
        "wrong status fails",
        "regex mismatch fails",
        "request does not take named",
        "unexpected error fails",
    ):
        assert got[name][0] == "fail", name
    assert "400" in got["unexpected error fails"][1]
    # every answer >= 500 is recorded against its test, expected or not
    assert [e.split(": ", 1)[0] for e in report.server_errors] == ["suite/10_test.yml::catches"] * 2
    assert report.server_errors[0].endswith("-> 500") and report.server_errors[1].endswith("-> 503")


def test_warnings(tmp_path: Path, fake_es: tuple[str, FakeES]) -> None:
    url, _ = fake_es
    report = run_yaml(
        tmp_path,
        url,
        """
"expected warning present":
  - do:
      warnings: ["[old_field] is deprecated"]
      index: {index: w, id: "1", body: {old_field: 1}}
---
"regex warning":
  - do:
      warnings_regex: ["\\\\[old_field\\\\] is .*"]
      index: {index: w, id: "1", body: {old_field: 1}}
---
"allowed warning":
  - do:
      allowed_warnings: ["[old_field] is deprecated"]
      index: {index: w, id: "1", body: {old_field: 1}}
  - do:
      allowed_warnings: ["[old_field] is deprecated"]
      index: {index: w, id: "2", body: {new_field: 1}}
---
"allowed regex warning":
  - do:
      allowed_warnings_regex: ["\\\\[old.*"]
      index: {index: w, id: "1", body: {old_field: 1}}
---
"unexpected warning":
  - do:
      index: {index: w, id: "1", body: {old_field: 1}}
---
"expected warning missing":
  - do:
      warnings: ["[old_field] is deprecated"]
      index: {index: w, id: "1", body: {new_field: 1}}
""",
    )
    got = statuses(report)
    for name in ("expected warning present", "regex warning", "allowed warning", "allowed regex warning"):
        assert got[name] == ("pass", ""), (name, got[name])
    assert got["unexpected warning"][0] == "fail" and "unexpected warning" in got["unexpected warning"][1]
    assert got["expected warning missing"][0] == "fail"
    assert "did not get expected warning" in got["expected warning missing"][1]


def test_skips_by_feature_version_and_cluster_features(tmp_path: Path, fake_es: tuple[str, FakeES]) -> None:
    url, _ = fake_es
    report = run_yaml(
        tmp_path,
        url,
        """
"unsupported feature":
  - skip: {features: [headers, teleport]}
  - do: {info: {}}
---
"supported features run":
  - skip: {features: [headers, warnings, contains, close_to, transform_and_set, arbitrary_key, node_selector]}
  - do: {info: {}}
---
"version skipped":
  - skip: {version: " - 8.11.99", reason: old servers}
  - do: {info: {}}
---
"version not matching runs":
  - skip: {version: " - 7.99.99, 9.0.0 - ", reason: other servers}
  - do: {info: {}}
---
"version all":
  - skip: {version: all, reason: always}
---
"awaits fix":
  - skip: {awaits_fix: "https://example/1", reason: muted}
---
"requires newer":
  - requires: {cluster_features: gte_v9.0.0, reason: needs 9}
---
"requires older ok":
  - requires: {cluster_features: [gte_v8.0.0, some_historical_feature], reason: needs 8}
  - do: {info: {}}
---
"skip when feature present":
  - skip: {cluster_features: feature_present, reason: behaviour changed}
---
"runner feature required":
  - requires: {test_runner_features: [yaml, no_such_thing]}
""",
    )
    got = statuses(report)
    assert got["unsupported feature"] == ("skip", "unsupported feature teleport")
    assert got["supported features run"] == ("pass", "")
    assert got["version skipped"][0] == "skip" and "old servers" in got["version skipped"][1]
    assert got["version not matching runs"] == ("pass", "")
    assert got["version all"][0] == "skip"
    assert got["awaits fix"][0] == "skip"
    assert got["requires newer"][0] == "skip" and "gte_v9.0.0" in got["requires newer"][1]
    assert got["requires older ok"] == ("pass", "")
    assert got["skip when feature present"][0] == "skip"
    assert got["runner feature required"] == ("skip", "unsupported feature no_such_thing")


def test_suite_level_skip_and_file_requires(tmp_path: Path, fake_es: tuple[str, FakeES]) -> None:
    url, _ = fake_es
    text = """
requires: {serverless: true, stack: false}
---
"only serverless":
  - do: {info: {}}
"""
    report = run_yaml(tmp_path, url, text, name="a/serverless.yml")
    assert statuses(report)["only serverless"][0] == "skip"
    text = "setup:\n  - skip: {features: teleport}\n---\n't1':\n  - do: {info: {}}\n---\n't2': []\n"
    report = run_yaml(tmp_path, url, text, name="b/setup_skip.yml", name_filter="b/")
    assert {r.status for r in report} == {"skip"} and len(report) == 2


def test_transform_and_set_headers(tmp_path: Path, fake_es: tuple[str, FakeES]) -> None:
    url, _ = fake_es
    report = run_yaml(
        tmp_path,
        url,
        """
"base64 credentials":
  - requires: {test_runner_features: [transform_and_set, headers]}
  - do: {test.echo: {body: {user: joe, pw: s3cret}}}
  - do: {test.echo: {body: $body.body_text}}
  - set: {body_text: raw}
  - do:
      test.echo: {body: {user: joe, pw: s3cret}}
  - transform_and_set: {creds: "#base64EncodeCredentials(method,path)"}
  - do:
      headers:
        Authorization: Basic ${creds}
        Content-Type: application/json
      test.echo: {body: "{\\"q\\": \\"$raw\\"}"}
  - match: {authorization: "Basic UE9TVDovX2VjaG8="}
  - match: {content_type: application/json}
""",
    )
    assert base64.b64decode("UE9TVDovX2VjaG8=") == b"POST:/_echo"
    assert statuses(report)["base64 credentials"] == ("pass", "")


def test_text_bodies_and_cat(tmp_path: Path, fake_es: tuple[str, FakeES]) -> None:
    url, _ = fake_es
    report = run_yaml(
        tmp_path,
        url,
        """
"cat text":
  - do:
      bulk:
        body: |
          {"index": {"_index": "t", "_id": "1"}}
          {"f": 1}
  - do: {cat.count: {v: true}}
  - match:
      $body: |
        /^ epoch \\s+ timestamp \\s+ count \\s* \\n
           \\d+ \\s+ \\d{2}:\\d{2}:\\d{2} \\s+ 1 \\s* \\n $/
  - do: {cat.count: {}}
  - match: {$body: /^\\d+\\s\\S+\\s+1\\n$/}
""",
    )
    assert statuses(report)["cat text"] == ("pass", "")


def test_timeout_fails_test_not_run(tmp_path: Path, fake_es: tuple[str, FakeES]) -> None:
    url, _ = fake_es
    text = "'slow':\n  - do: {test.slow: {}}\n---\n'after':\n  - do: {info: {}}\n"
    report = run_yaml(tmp_path, url, text, timeout=0.5)
    got = statuses(report)
    assert got["slow"][0] == "fail" and "timed out" in got["slow"][1]
    assert got["after"] == ("pass", "")


def test_teardown_cleanup_and_state_isolation(tmp_path: Path, fake_es: tuple[str, FakeES]) -> None:
    url, fake = fake_es
    report = run_yaml(
        tmp_path,
        url,
        """
setup:
  - do: {indices.create: {index: fresh}}
---
teardown:
  - do: {indices.delete: {index: fresh}}
---
"one":
  - do: {index: {index: other, id: "1", body: {}}}
---
"two":
  - do: {catch: missing, get: {index: other, id: "1"}}
---
"teardown failure":
  - do: {indices.delete: {index: fresh}}
""",
    )
    got = statuses(report)
    assert got["one"] == ("pass", "") and got["two"] == ("pass", "")
    assert got["teardown failure"][0] == "fail" and got["teardown failure"][1].startswith("teardown")
    assert fake.requests.count(("DELETE", "/*?expand_wildcards=all")) == 3
    # listing endpoints that 404 are asked once, not before every test
    assert fake.requests.count(("GET", "/_index_template")) == 1


def test_skips_file_report_json_and_load_errors(tmp_path: Path, fake_es: tuple[str, FakeES]) -> None:
    url, _ = fake_es
    suites = tmp_path / "suites"
    (suites / "x").mkdir(parents=True)
    (suites / "x" / "a.yml").write_text("'t1':\n  - do: {info: {}}\n---\n't2':\n  - do: {nope.api: {}}\n")
    (suites / "x" / "deep").mkdir()
    (suites / "x" / "deep" / "b.yaml").write_text("'t3':\n  - do: {info: {}}\n")
    (suites / "broken.yml").write_text("'t':\n  - frobnicate: {}\n")
    skips = SkipList.from_data([{"path": "x/deep/*", "reason": "later"}])
    report = run_paths(url, [suites], skips, api_spec=SPEC)
    data = report.to_dict()
    assert data["summary"] == {"passed": 1, "failed": 2, "skipped": 1}
    assert data["suites"] == {
        ".": {"passed": 0, "failed": 1, "skipped": 0},
        "x": {"passed": 1, "failed": 1, "skipped": 0},
        "x/deep": {"passed": 0, "failed": 0, "skipped": 1},
    }
    ids = {t["id"]: t for t in data["tests"]}
    assert ids["x/deep/b.yaml::t3"]["reason"] == "skips file: later"
    assert "not in the REST API spec" in ids["x/a.yml::t2"]["reason"]
    assert "unknown operator" in ids["broken.yml::(load)"]["reason"]
    assert report.final_line() == "1 passed, 2 failed, 1 skipped"


def test_cli(tmp_path: Path, fake_es: tuple[str, FakeES], capsys: pytest.CaptureFixture[str]) -> None:
    url, _ = fake_es
    spec_dir = tmp_path / "spec"
    spec_dir.mkdir()
    (spec_dir / "info.json").write_text(json.dumps({"info": _api([_path("/", ["GET"])])}))
    suites = tmp_path / "suites"
    suites.mkdir()
    (suites / "s.yml").write_text(
        "'ok':\n  - do: {info: {}}\n---\n'bad':\n  - do: {info: {}}\n  - match: {version.number: '0'}\n"
    )
    skips = tmp_path / "skips.yaml"
    skips.write_text("[]\n")
    report_file = tmp_path / "out.json"
    argv = ["--url", url, "--api-spec", str(spec_dir), "--skips", str(skips), "--report", str(report_file)]
    assert cli_main([*argv, str(suites)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "PASS  s.yml::ok"
    assert lines[1].startswith("FAIL  s.yml::bad  [")
    assert lines[-1] == "1 passed, 1 failed, 0 skipped"
    assert json.loads(report_file.read_text())["summary"]["failed"] == 1
    assert cli_main([*argv, "--strict", str(suites)]) == 1
    assert cli_main([*argv, "--filter", "::ok", "--strict", str(suites)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 passed, 0 failed, 0 skipped"


def test_cli_collect_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ok.yml").write_text("'a':\n  - do: {info: {}}\n---\n'b': []\n")
    assert cli_main(["--collect-only", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip().endswith("1 files, 2 tests, 0 load errors")
    (tmp_path / "bad.yaml").write_text("'a':\n  - nonsense: 1\n")
    assert cli_main(["--collect-only", str(tmp_path)]) == 1


# --------------------------------------------------------------------------------------------
# API resolution through the elasticsearch client, include filter, baseline ratchet
# --------------------------------------------------------------------------------------------
def test_client_api_resolution() -> None:
    from compat_tests.yaml_runner import ClientApi, RequestBuildError

    api = ClientApi()
    assert "indices.create" in api and "cat.indices" in api and "nope.api" not in api and "options" not in api
    req = api.build("index", {"index": "my idx", "id": "a/b", "refresh": True, "body": {"f": 1}})
    assert (req.method, req.path, req.params) == ("PUT", "/my%20idx/_doc/a%2Fb", (("refresh", "true"),))
    assert json.loads(req.body or b"") == {"f": 1} and req.headers["Content-Type"] == "application/json"
    assert api.build("index", {"index": "i", "body": {}}).describe() == "POST /i/_doc"
    req = api.build("exists", {"index": "i", "id": 1})
    assert (req.method, req.path, req.body) == ("HEAD", "/i/_doc/1", None)
    req = api.build("bulk", {"body": [{"index": {"_index": "i"}}, '{"f": "raw"}']})
    assert req.path == "/_bulk" and req.body == b'{"index":{"_index":"i"}}\n{"f": "raw"}\n'
    assert req.headers["Content-Type"] == "application/x-ndjson"
    # parameters the client does not know still go to the query string, lists comma-joined
    req = api.build("search", {"index": ["a", "b"], "no_such_param": 1, "size": 0, "ignore": [404]})
    assert req.path == "/a,b/_search" and req.params == (("no_such_param", "1"), ("size", "0"))
    assert req.ignore == frozenset({404})
    # body fields passed as parameters (client would require a body): placeholder, nothing sent
    req = api.build("scroll", {"scroll_id": "abc", "scroll": "1m"})
    assert req.describe() == "POST /_search/scroll?scroll_id=abc&scroll=1m" and req.body is None
    assert api.build("cat.count", {}).method == "GET"  # GET-only in Elasticsearch 8
    # a query parameter the client requires still travels in the query string, as written
    req = api.build("open_point_in_time", {"index": "i", "keep_alive": "1m"})
    assert req.describe() == "POST /i/_pit?keep_alive=1m"
    req = api.build("reindex_rethrottle", {"task_id": "n:1", "requests_per_second": 1})
    assert req.describe() == "POST /_reindex/n%3A1/_rethrottle?requests_per_second=1"
    req = api.build("_internal.prevalidate_node_removal", {"ids": "abc"})
    assert req.describe() == "POST /_internal/prevalidate_node_removal?ids=abc"
    assert api.build("indices.get_settings", {"index": "i", "name": "x"}).path == "/i/_settings/x"
    req = api.build("indices.create", {"index": "i", "body": '{"a": 1}'}, {"Content-Type": "application/json"})
    assert req.body == b'{"a": 1}'
    with pytest.raises(RequestBuildError, match="not known to the elasticsearch client"):
        api.build("nope.api", {})
    with pytest.raises(RequestBuildError, match="id"):
        api.build("get", {"index": "i"})


def test_default_resolver_is_the_client(
    tmp_path: Path, fake_es: tuple[str, FakeES], monkeypatch: pytest.MonkeyPatch
) -> None:
    from compat_tests.yaml_runner import ClientApi, resolve_api

    monkeypatch.delenv("ES_REST_API_SPEC", raising=False)
    assert isinstance(resolve_api(None), ClientApi)
    assert isinstance(resolve_api([]), ClientApi)
    url, _ = fake_es
    suites = tmp_path / "suites"
    (suites / "a").mkdir(parents=True)
    (suites / "b").mkdir()
    text = "'t':\n  - do: {indices.create: {index: x}}\n  - do: {indices.exists: {index: x}}\n  - is_true: ''\n"
    (suites / "a" / "one.yml").write_text(text)
    (suites / "b" / "two.yml").write_text(text)
    report = run_paths(url, [suites], include=["a"], api_spec=None)
    assert [(r.id, r.status) for r in report] == [("a/one.yml::t", "pass")]


def test_baseline_ratchet_and_results_table(tmp_path: Path) -> None:
    from compat_tests.yaml_runner import TestResult
    from compat_tests.yaml_runner.baseline import (
        check_baseline,
        load_baseline,
        results_markdown,
        write_baseline,
    )

    root = "/x/compat_cases/suite-a/tests"
    report = Report()
    report.add(TestResult(id="s/a.yml::one", status="pass", suite="s", root=root))
    report.add(TestResult(id="s/a.yml::two", status="fail", reason="boom", suite="s", root=root))
    report.add(TestResult(id="top.yml::three", status="pass", suite=".", root=root))
    file = tmp_path / "baseline.json"
    assert load_baseline(file) == set()
    assert write_baseline(file, report) == 2
    assert load_baseline(file) == {"suite-a/s/a.yml::one", "suite-a/top.yml::three"}
    check = check_baseline(report, {"suite-a/s/a.yml::two", "suite-a/gone.yml::x", "suite-a/s/a.yml::one"})
    assert check.regressions == [("suite-a/gone.yml::x", "not run"), ("suite-a/s/a.yml::two", "fail: boom")]
    assert check.newly_passing == ["suite-a/top.yml::three"] and not check.ok
    assert check_baseline(report, {"suite-a/gone.yml::x"}, partial=True).ok
    table = results_markdown(report)
    assert "## suite-a" in table and "| s | 1 | 1 | 0 | 50% |" in table and "| (top-level files) | 1 |" in table
