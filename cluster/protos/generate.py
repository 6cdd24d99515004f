"""Regenerate the committed protobuf modules: ``python -m cluster.protos.generate``."""

from __future__ import annotations

import pathlib
import re
import sys

from grpc_tools import protoc

HERE = pathlib.Path(__file__).parent


def generate(out_dir: pathlib.Path = HERE) -> None:
    protos = sorted(HERE.glob("*.proto"))
    args = ["protoc", f"-I{HERE}", f"--python_out={out_dir}", f"--grpc_python_out={out_dir}",
            f"--pyi_out={out_dir}", *(str(p) for p in protos)]  # fmt: skip
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    # protoc writes ``import leaf_pb2``: make every cross-module import a package import
    for proto in protos:
        for suffix in ("_pb2_grpc.py", "_pb2.py", "_pb2.pyi"):
            module = out_dir / f"{proto.stem}{suffix}"
            text = module.read_text()
            fixed = re.sub(r"^import (\w+_pb2) as", r"from cluster.protos import \1 as", text, flags=re.M)
            fixed = re.sub(r"^import (\w+_pb2)$", r"from cluster.protos import \1", fixed, flags=re.M)
            if fixed != text:
                module.write_text(fixed)


if __name__ == "__main__":
    generate(pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
