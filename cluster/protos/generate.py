"""Regenerate the committed protobuf modules: ``python -m cluster.protos.generate``."""

from __future__ import annotations

import pathlib
import re
import sys

from grpc_tools import protoc

HERE = pathlib.Path(__file__).parent


def generate(out_dir: pathlib.Path = HERE) -> None:
    args = ["protoc", f"-I{HERE}", f"--python_out={out_dir}", f"--grpc_python_out={out_dir}",
            f"--pyi_out={out_dir}", str(HERE / "leaf.proto")]  # fmt: skip
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    grpc_module = out_dir / "leaf_pb2_grpc.py"
    text = grpc_module.read_text()
    text = re.sub(r"^import leaf_pb2 as", "from cluster.protos import leaf_pb2 as", text, flags=re.M)
    grpc_module.write_text(text)


if __name__ == "__main__":
    generate(pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
