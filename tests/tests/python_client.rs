//! The API needs no Rust to use: a Python client whose stubs are generated from `proto/` at test
//! time (grpcio-tools from PyPI) reads the demo episode's view from a running gateway; the
//! `chancery_client` package the README's one command builds (`tests/python/build_client.py`)
//! installs and runs the example (`tests/python/example.py`) against real servers.

use chancery_proto::gateway::v1::ImportBundleRequest;
use chancery_testkit::python::{
    GRPCIO_STATUS, GRPCIO_TOOLS, generate_stubs, proto_files, run_script, site_packages,
    workspace_root,
};
use chancery_testkit::seed::{self, EPISODE};
use chancery_testkit::{TempDir, spawn_suite};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_client_reads_the_demo_view() {
    let suite = spawn_suite().await;
    suite
        .gateway
        .gateway()
        .import_bundle(ImportBundleRequest {
            bundle: Some(seed::bundle()),
        })
        .await
        .expect("the demo bundle imports");

    let stubs = TempDir::new("python").unwrap();
    let generate = {
        let out = stubs.path().to_owned();
        tokio::task::spawn_blocking(move || generate_stubs(&out))
    };
    generate.await.unwrap();
    std::fs::copy(
        workspace_root().join("tests/python/read_view.py"),
        stubs.path().join("read_view.py"),
    )
    .unwrap();

    let target = suite.gateway.target();
    let dir = stubs.path().to_owned();
    let output =
        tokio::task::spawn_blocking(move || run_script(&dir, "read_view.py", &[&target, EPISODE]))
            .await
            .unwrap();
    let view: serde_json::Value = serde_json::from_str(&output).expect("the script prints JSON");
    assert_eq!(view["title"], "Macron–Putin calls, March 2022");
    assert_eq!(view["unreachable"], serde_json::json!([]));
    let timeline = view["timeline"].as_array().unwrap();
    assert_eq!(timeline.len(), 15);
    let calls: Vec<_> = timeline
        .iter()
        .filter(|e| e["kind"] == "communication")
        .map(|e| {
            (
                e["when"].as_str().unwrap(),
                e["precision"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        calls,
        [
            ("2022-03-12", "DATE_PRECISION_DAY"),
            ("2022-03-22", "DATE_PRECISION_DAY"),
            ("2022-03-29", "DATE_PRECISION_DAY")
        ]
    );
    let attribution = view["attributions"]["statements/legendre-confirms-call"]
        .as_str()
        .unwrap();
    assert!(
        attribution.contains("TASS") && attribution.contains("BFM TV"),
        "{attribution}"
    );
    assert!(
        view["actors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "actors/anne-claire-legendre")
    );

    // Errors arrive as gRPC status codes in Python too.
    let target = suite.gateway.target();
    let dir = stubs.path().to_owned();
    let missing = tokio::task::spawn_blocking(move || {
        run_script(&dir, "read_view.py", &[&target, "episodes/no-such-episode"])
    })
    .await
    .unwrap();
    assert_eq!(missing.trim(), r#"{"code": "NOT_FOUND"}"#);
}

/// The README's way in from Python: one command builds the `chancery_client` package from
/// `proto/` into an empty directory (every proto file a module, importable next to
/// grpcio-status), `pip install` takes it, and the example reads the demo view and decodes an
/// error's details (ErrorInfo reason, every BadRequest field violation) from the real gateway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_one_command_builds_an_installable_client_and_the_example_uses_it() {
    let suite = spawn_suite().await;
    suite
        .gateway
        .gateway()
        .import_bundle(ImportBundleRequest {
            bundle: Some(seed::bundle()),
        })
        .await
        .expect("the demo bundle imports");

    let script = std::fs::read_to_string(workspace_root().join("tests/python/build_client.py"))
        .expect("read build_client.py");
    for pin in [GRPCIO_TOOLS, GRPCIO_STATUS] {
        assert!(
            script.contains(&format!("\"{pin}\"")),
            "build_client.py pins {pin} as the test kit does"
        );
    }
    let work = TempDir::new("python-client").unwrap();
    let out = work.path().join("client");
    let built = {
        let (work, out) = (work.path().to_owned(), out.clone());
        tokio::task::spawn_blocking(move || build_client(&work, &out))
            .await
            .unwrap()
    };
    let files = proto_files();
    assert!(
        built.contains(&format!("{} proto files", files.len())),
        "{built}"
    );
    for file in &files {
        let stem = file.strip_suffix(".proto").unwrap();
        for suffix in ["_pb2.py", "_pb2.pyi", "_pb2_grpc.py"] {
            let module = out.join("chancery_client").join(format!("{stem}{suffix}"));
            assert!(module.is_file(), "{} is missing", module.display());
        }
    }
    // Every module imports, next to grpcio-status (which loads googleapis' google.rpc).
    let modules: Vec<String> = files
        .iter()
        .flat_map(|file| {
            let dotted = file.strip_suffix(".proto").unwrap().replace('/', ".");
            [
                format!("chancery_client.{dotted}_pb2"),
                format!("chancery_client.{dotted}_pb2_grpc"),
            ]
        })
        .collect();
    let import_all = format!(
        "import grpc_status.rpc_status, importlib\nfor m in {modules:?}: importlib.import_module(m)\nprint('imported', len({modules:?}))"
    );
    let imported = {
        let (work, out) = (work.path().to_owned(), out.clone());
        tokio::task::spawn_blocking(move || python(&work, &[&out], &["-c", &import_all]))
            .await
            .unwrap()
    };
    assert_eq!(imported.trim(), format!("imported {}", modules.len()));

    let installed = work.path().join("installed");
    let example = workspace_root().join("tests/python/example.py");
    let target = suite.gateway.target();
    let output = {
        let work = work.path().to_owned();
        tokio::task::spawn_blocking(move || {
            let target_dir = installed.display().to_string();
            let out_dir = out.display().to_string();
            python(
                &work,
                &[],
                &[
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--no-deps",
                    "--no-build-isolation",
                    "--target",
                    &target_dir,
                    &out_dir,
                ],
            );
            python(
                &work,
                &[&installed],
                &[example.to_str().unwrap(), &target, EPISODE],
            )
        })
        .await
        .unwrap()
    };
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(
        lines[0], "Macron–Putin calls, March 2022: 15 timeline entries",
        "{output}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("  2022-03-12") && l.contains("communication")),
        "{output}"
    );
    let error = lines
        .iter()
        .position(|l| l.starts_with("INVALID_ARGUMENT: "))
        .unwrap_or_else(|| panic!("no INVALID_ARGUMENT line:\n{output}"));
    assert_eq!(
        lines[error + 1],
        "  ErrorInfo reason=INVALID_REQUEST domain=chancery",
        "{output}"
    );
    let fields: Vec<&str> = lines[error + 2..]
        .iter()
        .filter_map(|l| l.strip_prefix("  BadRequest "))
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert_eq!(fields, ["tag", "member", "page_size"], "{output}");
}

/// Runs `tests/python/build_client.py --out out` from `cwd`, as the README says (no
/// `PYTHONPATH`; the tools directory the test kit installed); its stdout.
fn build_client(cwd: &std::path::Path, out: &std::path::Path) -> String {
    let script = workspace_root().join("tests/python/build_client.py");
    let output = std::process::Command::new("python3")
        .current_dir(cwd)
        .env_remove("PYTHONPATH")
        .arg(script)
        .arg("--out")
        .arg(out)
        .arg("--tools")
        .arg(site_packages())
        .output()
        .expect("run python3");
    assert!(
        output.status.success(),
        "build_client.py failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs `python3 args…` in `cwd` with `path` and the test kit's tools on `PYTHONPATH`; its
/// stdout, failing the test with its stderr when it fails.
fn python(cwd: &std::path::Path, path: &[&std::path::Path], args: &[&str]) -> String {
    let mut python_path: Vec<_> = path.iter().map(|p| p.to_path_buf()).collect();
    python_path.push(site_packages());
    let output = std::process::Command::new("python3")
        .current_dir(cwd)
        .env("PYTHONPATH", std::env::join_paths(python_path).unwrap())
        .args(args)
        .output()
        .expect("run python3");
    assert!(
        output.status.success(),
        "python3 {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
