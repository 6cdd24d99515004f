"""Project-level invariants: committed generated code, documented settings, import direction."""

from __future__ import annotations

import pathlib
import re

from server.settings import SETTINGS, settings_markdown_table

REPO = pathlib.Path(__file__).resolve().parent.parent


def test_generated_protobuf_modules_are_current(tmp_path: pathlib.Path) -> None:
    from cluster.protos.generate import generate

    generate(tmp_path)
    for name in ("leaf_pb2.py", "leaf_pb2_grpc.py", "leaf_pb2.pyi"):
        assert (tmp_path / name).read_text() == (REPO / "cluster" / "protos" / name).read_text(), name


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
