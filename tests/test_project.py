"""Project-level invariants: committed generated code, documented settings, import direction."""

from __future__ import annotations

import ast
import pathlib
import re
import tomllib

from google.protobuf import descriptor_pb2

from server.settings import SETTINGS, settings_markdown_table

REPO = pathlib.Path(__file__).resolve().parent.parent


PROTOS = REPO / "cluster" / "protos"


def _file_descriptor(pb2_module: pathlib.Path) -> descriptor_pb2.FileDescriptorProto:
    """The message and service definitions a generated ``*_pb2.py`` registers (its serialized descriptor)."""
    for node in ast.walk(ast.parse(pb2_module.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "AddSerializedFile":
            return descriptor_pb2.FileDescriptorProto.FromString(ast.literal_eval(node.args[0]))
    raise AssertionError(f"no serialized descriptor in {pb2_module}")


def _grpc_methods(grpc_module: pathlib.Path) -> list[tuple[str, str, str]]:
    """(route, request type, response type) of every RPC the generated stub and servicer wire up."""
    pattern = r"'(/[\w.]+/\w+)',\s*request_serializer=leaf__pb2\.(\w+)\.SerializeToString,\s*" \
              r"response_deserializer=leaf__pb2\.(\w+)\.FromString"  # fmt: skip
    return sorted(re.findall(pattern, grpc_module.read_text()))


def _declarations(pyi: pathlib.Path) -> list[str]:
    """The classes and typed attributes of a generated ``.pyi`` (what mypy checks the code against)."""
    return [line.strip() for line in pyi.read_text().splitlines() if re.match(r"\s*(class \w+|\w+: )", line)]


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def test_generated_protobuf_modules_are_current(tmp_path: pathlib.Path) -> None:
    """Regenerating from ``leaf.proto`` gives the committed definitions. Compared: the descriptor (every
    message, field, number and type, and the service), the RPCs the gRPC module wires up and the typed stubs,
    not the generator's version lines, so a newer grpcio-tools than the one that generated them still passes."""
    from cluster.protos.generate import generate

    generate(tmp_path)
    assert _file_descriptor(tmp_path / "leaf_pb2.py") == _file_descriptor(PROTOS / "leaf_pb2.py"), (
        "cluster/protos/leaf_pb2.py is stale: run python -m cluster.protos.generate"
    )
    fresh_methods = _grpc_methods(tmp_path / "leaf_pb2_grpc.py")
    assert fresh_methods and fresh_methods == _grpc_methods(PROTOS / "leaf_pb2_grpc.py")
    assert _declarations(tmp_path / "leaf_pb2.pyi") == _declarations(PROTOS / "leaf_pb2.pyi")


def test_generated_modules_run_on_every_version_the_project_allows() -> None:
    """The runtime checks inside the generated modules accept the lowest grpcio and protobuf that
    pyproject.toml allows (each refuses a runtime older than its generator), and the installed ones."""
    floors = {}
    for dep in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]:
        name, _, bound = dep.partition(">=")
        floors[name.strip()] = _version(bound)
    grpc_generated = re.search(r"GRPC_GENERATED_VERSION = '([\d.]+)'", (PROTOS / "leaf_pb2_grpc.py").read_text())
    assert grpc_generated is not None
    assert _version(grpc_generated.group(1)) <= floors["grpcio"]
    protobuf_generated = re.search(r"# Protobuf Python Version: ([\d.]+)", (PROTOS / "leaf_pb2.py").read_text())
    assert protobuf_generated is not None
    assert _version(protobuf_generated.group(1)) <= floors["protobuf"]
    from cluster.protos import leaf_pb2, leaf_pb2_grpc  # the installed versions pass the checks too

    assert leaf_pb2_grpc.LeafStub and leaf_pb2.SearchRequest(timeout_seconds=1.5).HasField("timeout_seconds")


def test_readme_lists_every_setting() -> None:
    readme = (REPO / "README.md").read_text()
    block = readme.split("<!-- settings:start -->\n", 1)[1].split("<!-- settings:end -->", 1)[0]
    assert block == settings_markdown_table()
    for setting in SETTINGS:
        assert f"`{setting.env_var}`" in block


def test_imports_point_one_way() -> None:
    wrong = []
    for package, forbidden in (("native", ("server", "cluster")), ("cluster", ("server",))):
        for path in (REPO / package).rglob("*.py"):
            for line in path.read_text().splitlines():
                if re.match(rf"\s*(from|import)\s+({'|'.join(forbidden)})(\.|\s|$)", line):
                    wrong.append(f"{path.relative_to(REPO)}: {line.strip()}")
    assert wrong == []
