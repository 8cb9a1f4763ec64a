//! Compiles every `.proto` under `proto/chancery` and `proto/google/rpc` with protox (pure Rust,
//! no `protoc`), generates prost messages and tonic clients and servers, and writes the encoded
//! descriptor set that the services hand to server reflection. `google/rpc` (`Status` and the
//! standard error details) is compiled so that reflection describes every detail an error can
//! carry: grpcurl and buf curl then print `ErrorInfo` and `BadRequest` as JSON.

use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let proto_root = proto_root.canonicalize()?;
    let mut files = Vec::new();
    collect_protos(&proto_root.join("chancery"), &mut files)?;
    collect_protos(&proto_root.join("google/rpc"), &mut files)?;
    files.sort();

    let mut compiler = protox::Compiler::new([&proto_root])?;
    compiler
        .include_source_info(true)
        .include_imports(true)
        .open_files(&files)?;
    let descriptor_set = compiler.file_descriptor_set();
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    // Encoded by the compiler itself, which keeps extension options (the AIP field behaviours,
    // each RPC's `chancery.common.v1.access`) that `prost_types` would drop.
    std::fs::write(
        out_dir.join("chancery_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;

    tonic_prost_build::configure()
        .emit_rerun_if_changed(false)
        .compile_fds(descriptor_set)?;

    println!("cargo:rerun-if-changed={}", proto_root.display());
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    Ok(())
}

fn collect_protos(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect_protos(&path, files)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            files.push(path);
        }
    }
    Ok(())
}
