"""Unit tests of the OpenSearch story runner, against a tiny in-process fake server.

The fake (stdlib ``http.server`` on an ephemeral loopback port) keeps documents per index and
answers ``/``, ``/_bulk`` (ndjson), ``/{index}`` create/delete, ``/{index}/_doc[/{id}]``, a
``_cat`` text answer, a CBOR answer, an echo endpoint and a slow endpoint.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from compat_tests.opensearch_runner import (
    StoryLoadError,
    StoryOutputs,
    check_baseline,
    load_baseline,
    load_story,
    match_payload,
    run_paths,
    satisfies,
    write_baseline,
)
from compat_tests.opensearch_runner.__main__ import main as cli_main
from compat_tests.opensearch_runner.cbor import decode as cbor_decode
from compat_tests.opensearch_runner.story import extract_outputs
from compat_tests.yaml_runner import Report, SkipList


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: dict[str, Any]  # set on the bound subclass

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any = None, content_type: str = "application/json") -> None:
        raw = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
        if isinstance(body, str):
            raw = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(raw)

    def _handle(self) -> None:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        st = self.state
        st["requests"].append((self.command, self.path, self.headers.get("Content-Type"), body))
        indices: dict[str, dict[str, Any]] = st["indices"]
        path, method = url.path, self.command
        if path == "/":
            return self._send(200, {"version": {"number": st["version"], "distribution": "opensearch"}})
        if path == "/_echo":
            return self._send(200, {"query": query, "body": body.decode(), "ctype": self.headers.get("Content-Type")})
        if path == "/_slow":
            threading.Event().wait(2.0)
            return self._send(200, {})
        if path == "/_cat/health":
            return self._send(200, "green 1\n", "text/plain; charset=UTF-8")
        if path == "/_cbor":
            return self._send(200, bytes.fromhex("a263616263016164f5"), "application/cbor")
        if path == "/_bulk":
            lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
            items = []
            for meta, doc in zip(lines[::2], lines[1::2], strict=False):
                action = next(iter(meta))
                target = meta[action]
                indices.setdefault(target["_index"], {})[target.get("_id", "x")] = doc
                items.append({action: {"_index": target["_index"], "status": 201}})
            return self._send(200, {"errors": False, "items": items})
        m = re.fullmatch(r"/([^/_][^/]*)(?:/_doc(?:/([^/]+))?)?", path)
        if m is None:
            return self._send(404, {"error": {"reason": f"no handler for {path}"}, "status": 404})
        index, doc_id = m.group(1), m.group(2)
        if "/_doc" not in path:
            if method == "PUT":
                if index in indices:
                    return self._send(400, {"error": {"reason": "already exists"}, "status": 400})
                indices[index] = {}
                return self._send(200, {"acknowledged": True, "index": index})
            if method == "DELETE":
                gone = [i for i in index.split(",") if indices.pop(i, None) is not None]
                return self._send(200 if gone else 404, {"acknowledged": bool(gone)})
            return self._send(200 if index in indices else 404, {index: {}} if index in indices else None)
        docs = indices.setdefault(index, {})
        if method in ("POST", "PUT"):
            new_id = doc_id or f"auto{len(docs) + 1}"
            docs[new_id] = json.loads(body or b"{}")
            return self._send(201, {"_index": index, "_id": new_id, "result": "created"})
        if doc_id in docs:
            return self._send(200, {"_index": index, "_id": doc_id, "found": True, "_source": docs[doc_id]})
        return self._send(404, {"_index": index, "_id": doc_id, "found": False})

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle


@pytest.fixture()
def fake() -> Iterator[tuple[str, dict[str, Any]]]:
    state: dict[str, Any] = {"indices": {}, "requests": [], "version": "2.11.0"}
    handler = type("Bound", (Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()


def write_story(root: Path, rel: str, text: str) -> Path:
    file = root / "tests" / "default" / rel
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text, encoding="utf-8")
    return file


def run(tmp_path: Path, url: str, **kwargs: Any) -> Report:
    return run_paths(url, [tmp_path / "tests" / "default"], **kwargs)


def status(report: Report) -> dict[str, tuple[str, str]]:
    return {r.id: (r.status, r.reason) for r in report}


# pure functions ---------------------------------------------------------------------------------


def test_semver_ranges() -> None:
    assert satisfies("2.19.0", ">= 2.0")
    assert not satisfies("2.19.0", "< 2.0")
    assert not satisfies("2.19.0", ">= 2.4 < 2.19")
    assert satisfies("2.18.3", ">= 2.4 < 2.19")
    assert satisfies("3.1.0", "3") and not satisfies("2.19.0", "3")
    assert satisfies("2.1.0", ">2.0") and not satisfies("2.0.5", ">2.0")
    assert satisfies("2.0.5", "<=2.0") and not satisfies("2.1.0", "<=2.0")
    assert satisfies("1.0.1", "1.0.1") and not satisfies("1.0.2", "1.0.1")
    assert satisfies("2.5.0", "<1 || >=2.5") and satisfies("2.19.1-SNAPSHOT", "~2.19")
    assert satisfies(None, "< 1") and satisfies("2.0.0", None)


def test_payload_partial_match() -> None:
    actual = {"a": 1, "b": {"c": [1, 2, 3], "d": "x"}, "e": True, "f": 1.0}
    assert match_payload({"b": {"c": [1, 2]}, "a": 1, "f": 1}, actual) == []
    assert match_payload({"b": {"d": "y"}}, actual) == ["expected b.d='y', got 'x'"]
    assert match_payload({"z": 1}, actual) == ["missing z=1"]
    assert match_payload({"b": {"c": [1, 2, 3, 4]}}, actual) == ["missing b.c[3]=4"]
    assert match_payload({"e": 1}, actual) == ["expected e=1, got True"]  # booleans are not numbers
    assert match_payload({"a": "1"}, actual) == ["expected a='1', got 1"]
    assert match_payload([{"x": 1}], [{"x": 1, "y": 2}, {}]) == []
    assert match_payload("green 1\n", "green 1\n") == []


def test_outputs_and_references() -> None:
    outputs = StoryOutputs()
    values, error = extract_outputs(
        {"id": "payload._id", "n": "payload.items[1].n", "d": {"path": "payload.nope", "default": -1}},
        {"_id": "abc", "items": [{"n": 1}, {"n": 2}]},
        {},
    )
    assert error == "" and values == {"id": "abc", "n": 2, "d": -1}
    outputs.set("create", values)
    assert outputs.resolve("${create.n}") == 2  # whole reference keeps the type
    assert outputs.resolve({"q": "id:${create.id}/${create.n}"}) == {"q": "id:abc/2"}
    assert extract_outputs({"x": "payload.missing"}, {}, {})[1] == "expected a value at `payload.missing`"
    assert "unknown output source" in extract_outputs({"x": "body.a"}, {}, {})[1]


def test_story_loading_expands_methods(tmp_path: Path) -> None:
    file = write_story(
        tmp_path,
        "x.yaml",
        "description: X.\nchapters:\n  - synopsis: Both.\n    path: /\n    method: [GET, HEAD]\n",
    )
    story = load_story(file)
    assert [(c.method, c.synopsis) for c in story.chapters] == [("GET", "Both. [GET]"), ("HEAD", "Both. [HEAD]")]
    bad = write_story(tmp_path, "bad.yaml", "description: X.\nchapters:\n  - path: /\n    method: GET\n")
    with pytest.raises(StoryLoadError, match="synopsis"):
        load_story(bad)


def test_cbor_decoder() -> None:
    assert cbor_decode(bytes.fromhex("a263616263016164f5")) == {"abc": 1, "d": True}
    assert cbor_decode(bytes.fromhex("9f0102ff")) == [1, 2]
    assert cbor_decode(bytes.fromhex("f93e00")) == 1.5


# end to end -------------------------------------------------------------------------------------

CRUD = """
description: Document round trip.
prologues:
  - path: /books
    method: PUT
epilogues:
  - path: /books
    method: DELETE
    status: [200, 404]
chapters:
  - synopsis: Index.
    id: doc
    path: /{index}/_doc
    method: POST
    parameters:
      index: books
    request:
      payload: {title: Dune}
    response:
      status: 201
    output:
      id: payload._id
  - synopsis: Get.
    path: /{index}/_doc/{id}
    method: GET
    parameters:
      index: books
      id: ${doc.id}
    response:
      status: 200
      payload:
        _id: ${doc.id}
        _source: {title: Dune}
  - synopsis: Missing.
    path: /{index}/_doc/{id}
    method: [GET, HEAD]
    parameters:
      index: books
      id: nope
    response:
      status: 404
"""


def test_story_passes_with_outputs_and_cleanup(tmp_path: Path, fake: tuple[str, dict[str, Any]]) -> None:
    url, state = fake
    write_story(tmp_path, "indices/doc.yaml", CRUD)
    lines: list[str] = []
    report = run(tmp_path, url, on_result=lines.append)
    assert status(report) == {"indices/doc.yaml": ("pass", "")}
    assert lines == ["PASS  indices/doc.yaml"]
    assert report.to_dict()["suites"] == {"indices": {"passed": 1, "failed": 0, "skipped": 0}}
    get = [r for r in state["requests"] if r[0] == "GET" and "/_doc/auto1" in r[1]]
    assert get, state["requests"]
    assert state["indices"] == {}  # epilogue ran


def test_failures_status_payload_and_error_skips_rest(tmp_path: Path, fake: tuple[str, dict[str, Any]]) -> None:
    url, _ = fake
    write_story(
        tmp_path,
        "a.yaml",
        """
description: Payload mismatch.
chapters:
  - synopsis: Root.
    path: /
    method: GET
    response: {status: 200, payload: {version: {number: '9.9.9'}}}
  - synopsis: Next still runs after a mismatch.
    path: /_echo
    method: GET
""",
    )
    write_story(
        tmp_path,
        "b.yaml",
        """
description: Status error.
epilogues:
  - path: /_echo
    method: GET
chapters:
  - synopsis: Missing.
    path: /nope/_doc/1
    method: GET
  - synopsis: Skipped after the error.
    path: /_echo
    method: GET
""",
    )
    report = run(tmp_path, url)
    results = {r.id: r for r in report}
    assert results["a.yaml"].status == "fail"
    assert "expected version.number='9.9.9', got '2.11.0'" in results["a.yaml"].reason
    assert "PASSED   chapter  Next still runs" in results["a.yaml"].detail
    assert results["b.yaml"].status == "fail"
    assert "expected status 200, got 404" in results["b.yaml"].reason
    assert "SKIPPED  chapter  Skipped after the error.: skipped after an earlier error" in results["b.yaml"].detail
    assert "PASSED   epilogue" in results["b.yaml"].detail
    assert report.final_line() == "0 passed, 2 failed, 0 skipped"


def test_prologue_error_fails_story(tmp_path: Path, fake: tuple[str, dict[str, Any]]) -> None:
    url, _ = fake
    write_story(
        tmp_path,
        "p.yaml",
        """
description: Prologue error.
prologues:
  - path: /missing/_doc/1
    method: GET
chapters:
  - synopsis: Never runs.
    path: /
    method: GET
""",
    )
    (result,) = run(tmp_path, url)
    assert result.status == "fail" and result.reason.startswith("prologue 'GET /missing/_doc/1'")


def test_gates_pending_and_skips_file(tmp_path: Path, fake: tuple[str, dict[str, Any]]) -> None:
    url, state = fake
    write_story(
        tmp_path, "v.yaml", "description: V.\nversion: '>= 3'\nchapters:\n  - {synopsis: A., path: /, method: GET}\n"
    )
    write_story(
        tmp_path,
        "d.yaml",
        "description: D.\ndistributions: {excluded: [opensearch.org]}\nchapters:\n"
        "  - {synopsis: A., path: /, method: GET}\n",
    )
    write_story(
        tmp_path,
        "c.yaml",
        """
description: Chapter gates.
chapters:
  - {synopsis: Old., version: '< 2.0', path: /_nope, method: GET}
  - {synopsis: Amazon only., distributions: {included: [amazon-managed]}, path: /_nope, method: GET}
  - {synopsis: Later., pending: not yet, path: /_nope, method: GET}
  - {synopsis: Listed., path: /_nope, method: GET}
  - {synopsis: Runs., path: /, method: GET}
""",
    )
    write_story(
        tmp_path,
        "all_gated.yaml",
        "description: G.\nchapters:\n  - {synopsis: A., version: '9', path: /, method: GET}\n",
    )
    write_story(
        tmp_path, "skipped/s.yaml", "description: S.\nchapters:\n  - {synopsis: A., path: /_nope, method: GET}\n"
    )
    skips = SkipList.from_data(
        [
            {"path": "skipped/*", "reason": "plugin"},
            {"path": "c.yaml::Listed.", "reason": "OpenSearch-only"},
        ]
    )
    results = status(run(tmp_path, url, skips=skips))
    assert results["v.yaml"] == ("skip", "skipped because version 2.11.0 does not satisfy >= 3")
    assert results["d.yaml"][0] == "skip" and "opensearch.org is excluded" in results["d.yaml"][1]
    assert results["c.yaml"] == ("pass", "")
    assert results["all_gated.yaml"][0] == "skip"
    assert results["skipped/s.yaml"] == ("skip", "skips file: plugin")
    assert not [r for r in state["requests"] if r[1] == "/_nope"]
    # an explicit version overrides the server's
    assert status(run(tmp_path, url, version="3.1.0"))["v.yaml"] == ("pass", "")


def test_request_encoding_and_content_types(tmp_path: Path, fake: tuple[str, dict[str, Any]]) -> None:
    url, state = fake
    write_story(
        tmp_path,
        "enc.yaml",
        """
description: Encoding.
chapters:
  - synopsis: Bulk.
    path: /_bulk
    method: POST
    parameters: {refresh: true}
    request:
      content_type: application/x-ndjson
      payload:
        - {create: {_index: movies, _id: m1}}
        - {title: Drive}
    response:
      status: 200
      payload: {errors: false, items: [{create: {_index: movies}}]}
  - synopsis: Query parameters.
    path: /_echo
    method: GET
    parameters: {h: [a, b], v: true, size: 3}
    response:
      status: 200
      payload: {query: {h: 'a,b', v: 'true', size: '3'}, ctype: application/json}
  - synopsis: Text answer.
    path: /_cat/health
    method: GET
    response: {status: 200, content_type: text/plain, payload: "green 1\\n"}
  - synopsis: CBOR answer.
    path: /_cbor
    method: GET
    response: {status: 200, content_type: application/cbor, payload: {abc: 1}}
""",
    )
    write_story(
        tmp_path,
        "ctype.yaml",
        "description: C.\nchapters:\n  - {synopsis: A., path: /_cat/health, method: GET}\n",
    )
    results = status(run(tmp_path, url))
    assert results["enc.yaml"] == ("pass", "")
    assert "expected content type application/json, got text/plain" in results["ctype.yaml"][1]
    bulk = next(r for r in state["requests"] if r[1].startswith("/_bulk"))
    assert bulk[2] == "application/x-ndjson"
    assert bulk[3] == b'{"create": {"_index": "movies", "_id": "m1"}}\n{"title": "Drive"}\n'
    assert bulk[1] == "/_bulk?refresh=true"


def test_bad_references_timeouts_and_budget(tmp_path: Path, fake: tuple[str, dict[str, Any]]) -> None:
    url, _ = fake
    write_story(
        tmp_path,
        "a_ref.yaml",
        "description: R.\nchapters:\n  - synopsis: A.\n    path: /{index}\n    method: GET\n"
        "    parameters: {index: '${nope.x}'}\n",
    )
    write_story(tmp_path, "b_slow.yaml", "description: S.\nchapters:\n  - {synopsis: A., path: /_slow, method: GET}\n")
    results = status(run(tmp_path, url, timeout=0.3))
    assert results["a_ref.yaml"][0] == "fail" and "non-existent chapter 'nope'" in results["a_ref.yaml"][1]
    assert results["b_slow.yaml"][0] == "fail" and "timed out after 0.3s" in results["b_slow.yaml"][1]
    results = status(run(tmp_path, url, deadline=0.0))
    assert results["b_slow.yaml"] == ("fail", "not run: time budget exhausted")


def test_cli_report_and_baseline(tmp_path: Path, fake: tuple[str, dict[str, Any]], capsys: Any) -> None:
    url, _ = fake
    write_story(tmp_path, "indices/doc.yaml", CRUD)
    write_story(tmp_path, "bad.yaml", "description: B.\nchapters:\n  - {synopsis: A., path: /x/_doc/1, method: GET}\n")
    folder = str(tmp_path / "tests" / "default")
    baseline = tmp_path / "baseline.json"
    report_file = tmp_path / "report.json"
    args = ["--url", url, folder, "--baseline", str(baseline)]
    assert cli_main([*args, "--update-baseline", "--report", str(report_file)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2] == "1 passed, 1 failed, 0 skipped"
    assert load_baseline(baseline) == {"indices/doc.yaml"}
    assert json.loads(report_file.read_text())["summary"] == {"passed": 1, "failed": 1, "skipped": 0}
    assert cli_main(args) == 0
    # a baseline story that now fails is a regression
    write_baseline(baseline, _report_with("bad.yaml"))
    assert cli_main(args) == 1
    assert "REGRESSION  bad.yaml" in capsys.readouterr().out
    assert cli_main(["--url", url, folder, "--strict"]) == 1


def _report_with(*ids: str) -> Report:
    from compat_tests.yaml_runner import TestResult

    report = Report()
    for sid in ids:
        report.add(TestResult(sid, "pass"))
    return report


def test_check_baseline_partial() -> None:
    check = check_baseline(_report_with("a.yaml"), {"a.yaml", "b.yaml"})
    assert check.regressions == [("b.yaml", "not run")]
    assert check_baseline(_report_with("a.yaml"), {"a.yaml", "b.yaml"}, partial=True).ok
    assert check_baseline(_report_with("a.yaml", "c.yaml"), {"a.yaml"}).newly_passing == ["c.yaml"]
