//! Python with gRPC, for tests that use the API from another language: `grpcio-tools` (which
//! also brings `grpcio` and `protobuf`) and `grpcio-status` (rich error details) installed from
//! PyPI into `target/tools/python` on first use, and stubs generated from `proto/` at test time.
//! The same pins are in `tests/python/build_client.py`, the client package's one command.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The pinned `grpcio-tools` version the tests install.
pub const GRPCIO_TOOLS: &str = "grpcio-tools==1.85.1";

/// The pinned `grpcio-status` version the tests install (with `googleapis-common-protos`).
pub const GRPCIO_STATUS: &str = "grpcio-status==1.85.1";

/// The directory holding `grpc`, `grpc_tools`, `grpc_status` and `google.protobuf`, to put on
/// `PYTHONPATH`.
pub fn site_packages() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = workspace_root().join("target/tools/python");
        if !dir.join("grpc_tools").exists() || !dir.join("grpc_status").exists() {
            let status = Command::new("python3")
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--upgrade",
                    "--target",
                ])
                .arg(&dir)
                .args([GRPCIO_TOOLS, GRPCIO_STATUS])
                .status()
                .expect("run python3 -m pip");
            assert!(
                status.success(),
                "pip could not install {GRPCIO_TOOLS} {GRPCIO_STATUS}"
            );
        }
        dir
    })
    .clone()
}

/// The repository's root directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// Every `.proto` file under `proto/chancery` and `proto/google` (the AIP field behaviour
/// annotation they import), relative to `proto/`.
pub fn proto_files() -> Vec<String> {
    fn walk(dir: &Path, root: &Path, files: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("read proto dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(&path, root, files);
            } else if path.extension().is_some_and(|e| e == "proto") {
                files.push(
                    path.strip_prefix(root)
                        .expect("under proto/")
                        .display()
                        .to_string(),
                );
            }
        }
    }
    let root = workspace_root().join("proto");
    let mut files = Vec::new();
    walk(&root.join("chancery"), &root, &mut files);
    walk(&root.join("google"), &root, &mut files);
    files.sort();
    files
}

/// Generates Python message and gRPC stubs for every Chancery proto into `out`.
pub fn generate_stubs(out: &Path) {
    let proto = workspace_root().join("proto");
    let output = Command::new("python3")
        .env("PYTHONPATH", site_packages())
        .args(["-m", "grpc_tools.protoc"])
        .arg(format!("-I{}", proto.display()))
        .arg(format!("--python_out={}", out.display()))
        .arg(format!("--grpc_python_out={}", out.display()))
        .args(proto_files())
        .output()
        .expect("run grpc_tools.protoc");
    assert!(
        output.status.success(),
        "protoc failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs `script` (a file in `dir`, next to the generated stubs) with `args`; returns its stdout,
/// failing the test with its stderr when it fails.
pub fn run_script(dir: &Path, script: &str, args: &[&str]) -> String {
    let output = Command::new("python3")
        .current_dir(dir)
        .env(
            "PYTHONPATH",
            format!("{}:{}", dir.display(), site_packages().display()),
        )
        .arg(script)
        .args(args)
        .output()
        .expect("run python3");
    assert!(
        output.status.success(),
        "{script} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
