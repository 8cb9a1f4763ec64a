"""Builds `chancery_client`, an importable Python package of the Chancery API, from proto/.

Usage: python3 tests/python/build_client.py --out DIR [--tools DIR]

Writes DIR/chancery_client/ (replacing an earlier build there) and DIR/pyproject.toml, so that
either `PYTHONPATH=DIR` or `pip install DIR` makes it importable. Every proto file becomes a
module under the package, at its proto path:

    from chancery_client.chancery.gateway.v1 import gateway_pb2, gateway_pb2_grpc
    from chancery_client.google.rpc import error_details_pb2

with `*_pb2.py` (messages), `*_pb2.pyi` (types, for editors) and `*_pb2_grpc.py` (stubs). The
generator is grpcio-tools, pinned below; when DIR of --tools (default target/tools/python in
the repository) does not hold it yet, it is installed there from PyPI with pip, together with
grpcio-status (rich error details), which the example (tests/python/example.py) uses. At run
time the package needs grpcio and protobuf at least as new as the generator's (pyproject.toml
says which).

The `chancery_client.google` modules (google.api, google.rpc) are googleapis-common-protos'
modules of the same files when that package is installed (grpcio-status brings it): a process
can hold only one definition of a proto file, and grpcio-status reads status details with that
one. Without it they are Chancery's own declarations (proto/google). Either way
`chancery_client.google.rpc.error_details_pb2.ErrorInfo` unpacks what the server sends.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROTO = REPO / "proto"
PACKAGE = "chancery_client"
# The same pins as tests/testkit/src/python.rs.
GRPCIO_TOOLS = "grpcio-tools==1.85.1"
GRPCIO_STATUS = "grpcio-status==1.85.1"


def proto_files() -> list[str]:
    """Every .proto under proto/ (Chancery's, and the google.api and google.rpc ones it
    declares), relative to proto/."""
    return sorted(
        path.relative_to(PROTO).as_posix()
        for path in PROTO.rglob("*.proto")
        if "released" not in path.relative_to(PROTO).parts
    )


def ensure_tools(tools: Path) -> None:
    """Installs grpcio-tools and grpcio-status into `tools` unless they are there."""
    if (tools / "grpc_tools").is_dir() and (tools / "grpc_status").is_dir():
        return
    print(f"installing {GRPCIO_TOOLS} {GRPCIO_STATUS} into {tools}", file=sys.stderr)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--upgrade", "--target", str(tools), GRPCIO_TOOLS, GRPCIO_STATUS],
        check=True,
    )


def generate(tools: Path, out: Path, files: list[str]) -> None:
    """Runs grpcio-tools' protoc on `files`, writing modules under `out`."""
    env = dict(os.environ, PYTHONPATH=str(tools))
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTO}",
         f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}", *files],
        check=True,
        env=env,
    )


def rewrite_imports(package: Path, files: list[str]) -> None:
    """Makes the generated modules import each other inside the package: protoc writes
    `from chancery.common.v1 import common_pb2`, which becomes
    `from chancery_client.chancery.common.v1 import common_pb2`. Imports of modules not
    generated here (google.protobuf) are left alone."""
    generated = {str(Path(file).parent).replace("/", ".") for file in files}
    pattern = re.compile(r"^from ([\w.]+) import ", re.MULTILINE)

    def local(match: re.Match) -> str:
        module = match.group(1)
        if module in generated:
            return f"from {PACKAGE}.{module} import "
        return match.group(0)

    # The module name its classes report (`__module__`, used by pickle and repr).
    module_name = re.compile(r"(BuildTopDescriptorsAndMessages\(DESCRIPTOR, ')([\w.]+')")
    for path in package.rglob("*.py*"):
        if path.suffix in (".py", ".pyi"):
            text = pattern.sub(local, path.read_text())
            path.write_text(module_name.sub(rf"\1{PACKAGE}.\2", text))


def add_init_files(package: Path) -> None:
    """An `__init__.py` in every directory, so the package is a regular one (no namespace
    packages, which a `google` directory would otherwise merge with protobuf's)."""
    for directory in [package, *(p for p in package.rglob("*") if p.is_dir())]:
        init = directory / "__init__.py"
        if not init.exists():
            init.write_text("")
    (package / "__init__.py").write_text(
        '"""The Chancery API, generated from proto/ by tests/python/build_client.py."""\n'
    )
    (package / "py.typed").write_text("")


SHARED = '''"""{file}: googleapis-common-protos' `{module}` when it is installed
(a process can hold only one definition of a proto file, and grpcio-status uses that one);
else Chancery's declaration of the same messages (proto/{file}), in `{own}`."""

try:
    from {module} import *  # noqa: F401,F403
except ImportError:
    from {package}.{own} import *  # noqa: F401,F403
'''


def share_google_modules(package: Path, files: list[str]) -> None:
    """Makes each generated google.* module defer to googleapis-common-protos' (see SHARED);
    the generated code moves to `_own_<name>_pb2.py` beside it."""
    for file in files:
        if not file.startswith("google/"):
            continue
        stem = file.removesuffix(".proto")
        path = package / f"{stem}_pb2.py"
        own = path.with_name(f"_own_{path.name}")
        path.rename(own)
        module = stem.replace("/", ".") + "_pb2"
        path.write_text(SHARED.format(
            file=file, module=module, package=PACKAGE,
            own=str(own.relative_to(package).with_suffix("")).replace("/", "."),
        ))


def generator_versions(package: Path) -> tuple[str, str]:
    """The protobuf and grpcio versions the generated code requires at least."""
    pb2 = (package / "chancery/gateway/v1/gateway_pb2.py").read_text()
    grpc = (package / "chancery/gateway/v1/gateway_pb2_grpc.py").read_text()
    protobuf = re.search(r"^# Protobuf Python Version: (\S+)", pb2, re.MULTILINE)
    grpcio = re.search(r"^GRPC_GENERATED_VERSION = '([^']+)'", grpc, re.MULTILINE)
    if not protobuf or not grpcio:
        sys.exit("cannot find the generator's versions in the generated code")
    return protobuf.group(1), grpcio.group(1)


def workspace_version() -> str:
    """The version of the Rust workspace (its [workspace.package] version)."""
    cargo = (REPO / "Cargo.toml").read_text()
    section = cargo.split("[workspace.package]", 1)[1]
    return re.search(r'^version = "([^"]+)"', section, re.MULTILINE).group(1)


def write_pyproject(out: Path, protobuf: str, grpcio: str) -> None:
    major = int(protobuf.split(".")[0])
    (out / "pyproject.toml").write_text(f"""\
# Generated by tests/python/build_client.py from proto/; rebuild rather than edit.
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "chancery-client"
version = "{workspace_version()}"
description = "Chancery API: messages and gRPC stubs generated from proto/"
requires-python = ">=3.9"
dependencies = ["grpcio>={grpcio}", "protobuf>={protobuf},<{major + 1}"]

[project.optional-dependencies]
status = ["grpcio-status>={grpcio}"]

[tool.setuptools.packages.find]
include = ["{PACKAGE}*"]

[tool.setuptools.package-data]
"*" = ["*.pyi", "py.typed"]
""")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path,
                        help="where chancery_client/ and pyproject.toml are written")
    parser.add_argument("--tools", type=Path, default=REPO / "target/tools/python",
                        help="where grpcio-tools is (or is installed); default %(default)s")
    args = parser.parse_args()
    out = args.out.resolve()
    package = out / PACKAGE
    files = proto_files()
    if not files:
        sys.exit(f"no .proto files under {PROTO}")
    ensure_tools(args.tools.resolve())
    shutil.rmtree(package, ignore_errors=True)
    package.mkdir(parents=True)
    generate(args.tools.resolve(), package, files)
    rewrite_imports(package, files)
    share_google_modules(package, files)
    add_init_files(package)
    protobuf, grpcio = generator_versions(package)
    write_pyproject(out, protobuf, grpcio)
    print(f"{package}: {len(files)} proto files (protobuf>={protobuf}, grpcio>={grpcio})")


if __name__ == "__main__":
    main()
