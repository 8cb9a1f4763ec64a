//! The layout rules of ARCHITECTURE.md, checked on the source tree itself:
//!
//! - no crate under `crates/` depends on a service (as `cargo metadata` reports the
//!   dependencies);
//! - no module of a crate imports, directly or through others, a module that imports it back;
//! - one module-file style: `foo.rs` beside `foo/`, never `mod.rs`;
//! - no production function over 100 lines;
//! - the Dockerfile copies the manifest of every workspace member (its dependency layer is
//!   built from them alone).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The longest a production function may be, in lines.
const MAX_FUNCTION_LINES: usize = 100;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the workspace root")
}

/// The workspace's packages: name → (manifest directory relative to the root, names of its
/// normal and build dependencies); `cargo metadata` runs once per test process.
fn packages() -> &'static BTreeMap<String, (String, Vec<String>)> {
    static PACKAGES: std::sync::OnceLock<BTreeMap<String, (String, Vec<String>)>> =
        std::sync::OnceLock::new();
    PACKAGES.get_or_init(read_packages)
}

/// [`packages`], read from `cargo metadata`.
fn read_packages() -> BTreeMap<String, (String, Vec<String>)> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
    let root = root();
    metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|package| {
            let manifest = Path::new(package["manifest_path"].as_str().expect("manifest_path"));
            let dir = manifest
                .parent()
                .and_then(|dir| dir.strip_prefix(&root).ok())
                .expect("a member inside the workspace")
                .to_string_lossy()
                .into_owned();
            let dependencies = package["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .filter(|d| d["kind"].is_null() || d["kind"] == "build")
                .map(|d| d["name"].as_str().expect("name").to_owned())
                .collect();
            (
                package["name"].as_str().expect("name").to_owned(),
                (dir, dependencies),
            )
        })
        .collect()
}

#[test]
fn no_library_under_crates_depends_on_a_service() {
    let packages = packages();
    let services: BTreeSet<&str> = packages
        .iter()
        .filter(|(_, (dir, _))| dir.starts_with("services/"))
        .map(|(name, _)| name.as_str())
        .collect();
    assert!(services.contains("chancery-actors") && services.contains("chancery-suite"));
    let libraries: Vec<&String> = packages
        .iter()
        .filter(|(_, (dir, _))| dir.starts_with("crates/"))
        .map(|(name, _)| name)
        .collect();
    assert!(libraries.len() >= 3, "crates/ holds the libraries");
    let mut offending = Vec::new();
    for library in libraries {
        for dependency in &packages[library].1 {
            if services.contains(dependency.as_str()) {
                offending.push(format!("{library} → {dependency}"));
            }
        }
    }
    assert!(
        offending.is_empty(),
        "crates/ depend on services: {offending:?}"
    );
}

/// The `.rs` files below `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The production source directories: every member's `src/` but the end-to-end suites'.
fn source_dirs() -> Vec<PathBuf> {
    packages()
        .values()
        .map(|(dir, _)| root().join(dir).join("src"))
        .filter(|src| src.is_dir())
        .collect()
}

/// `text` without its `#[cfg(test)]` tail (unit tests sit at the end of a file) and without
/// comment lines.
fn production_lines(text: &str) -> Vec<&str> {
    text.lines()
        .take_while(|line| line.trim() != "#[cfg(test)]")
        .collect()
}

#[test]
fn no_module_file_is_named_mod_rs() {
    let found: Vec<PathBuf> = source_dirs()
        .iter()
        .flat_map(|dir| rust_files(dir))
        .filter(|file| file.file_name().is_some_and(|name| name == "mod.rs"))
        .collect();
    assert!(found.is_empty(), "use foo.rs beside foo/: {found:?}");
}

/// The crate-level module a file of `src` belongs to (`lib`/`main` for the root files).
fn top_module(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("a file of src");
    let first = relative
        .components()
        .next()
        .expect("a path")
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    first.trim_end_matches(".rs").to_owned()
}

/// The crate-level modules `line` names through `crate::<module>`.
fn crate_paths(line: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or("");
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let inner = group.split('}').next().unwrap_or("");
            found.extend(inner.split(',').map(|part| {
                part.trim()
                    .split("::")
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_owned()
            }));
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.push(name);
        }
    }
    found.retain(|name| !name.is_empty() && name != "self");
    found
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let mut cycles = Vec::new();
    for src in source_dirs() {
        let mut imports: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let files = rust_files(&src);
        let modules: BTreeSet<String> = files.iter().map(|f| top_module(&src, f)).collect();
        for file in &files {
            let module = top_module(&src, file);
            let text = std::fs::read_to_string(file).expect("read a source file");
            for line in production_lines(&text) {
                let trimmed = line.trim_start();
                if trimmed.starts_with("//") {
                    continue;
                }
                for target in crate_paths(line) {
                    if target != module && modules.contains(&target) {
                        imports.entry(module.clone()).or_default().insert(target);
                    }
                }
            }
        }
        // A cycle exists when a module reaches itself through the import graph.
        for start in imports.keys() {
            let mut seen = BTreeSet::new();
            let mut pending: Vec<&String> = imports[start].iter().collect();
            while let Some(next) = pending.pop() {
                if next == start {
                    cycles.push(format!("{}: {start}", src.display()));
                    break;
                }
                if seen.insert(next.clone())
                    && let Some(more) = imports.get(next)
                {
                    pending.extend(more.iter());
                }
            }
        }
    }
    assert!(cycles.is_empty(), "modules in an import cycle: {cycles:?}");
}

#[test]
fn the_cycle_finder_reads_crate_paths() {
    assert_eq!(crate_paths("use crate::db::{self, Database};"), ["db"]);
    assert_eq!(
        crate_paths("use crate::{errors::Error, names};"),
        ["errors", "names"]
    );
    assert_eq!(
        crate_paths("let x = crate::breaker::open(); // crate::tls"),
        ["breaker"]
    );
    assert!(crate_paths("use chancery_runtime::x;").is_empty());
    assert!(crate_paths("$crate::Backend::Sqlite").is_empty());
}

/// The functions of `lines` longer than `limit` lines: `(first line number, name, length)`.
fn long_functions(lines: &[&str], limit: usize) -> Vec<(usize, String, usize)> {
    let mut found = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let Some(name) = function_name(line) else {
            continue;
        };
        let mut depth = 0i64;
        let mut opened = false;
        for (offset, body) in lines[start..].iter().enumerate() {
            let code = strip_literals(body);
            for c in code.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            if !opened && code.trim_end().ends_with(';') {
                break; // a declaration without a body
            }
            if opened && depth <= 0 {
                if offset + 1 > limit {
                    found.push((start + 1, name.clone(), offset + 1));
                }
                break;
            }
        }
    }
    found
}

/// The name of the function `line` starts, if it starts one.
fn function_name(line: &str) -> Option<String> {
    let mut words = line.split_whitespace().peekable();
    while let Some(word) = words.peek() {
        if word.starts_with("pub") || ["async", "const", "unsafe", "extern"].contains(word) {
            words.next();
        } else {
            break;
        }
    }
    if words.next()? != "fn" {
        return None;
    }
    let name: String = words
        .next()?
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// `line` with its string and character literals and its comment emptied, so braces inside
/// them are not counted.
fn strip_literals(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '/' if chars.peek() == Some(&'/') => break,
            '\'' => {
                // A character literal such as '{' or '\n'; a lifetime has no closing quote.
                let rest: String = chars.clone().take(3).collect();
                if rest.starts_with('\\') {
                    chars.nth(2);
                } else if rest.chars().nth(1) == Some('\'') {
                    chars.nth(1);
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[test]
fn no_production_function_is_over_the_limit() {
    let mut long = Vec::new();
    for src in source_dirs() {
        for file in rust_files(&src) {
            let text = std::fs::read_to_string(&file).expect("read a source file");
            for (line, name, length) in long_functions(&production_lines(&text), MAX_FUNCTION_LINES)
            {
                long.push(format!("{}:{line} {name} ({length} lines)", file.display()));
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_FUNCTION_LINES} lines: {long:#?}"
    );
}

#[test]
fn the_length_counter_counts_bodies_not_literals() {
    let source = "fn short() {\n    let brace = '{';\n    let text = \"}}}\";\n}\nfn long() {\n    a();\n    b();\n    c();\n}\nfn declared();";
    let lines: Vec<&str> = source.lines().collect();
    assert!(long_functions(&lines, 5).is_empty());
    assert_eq!(long_functions(&lines, 4), [(5, "long".to_owned(), 5)]);
    assert_eq!(
        function_name("    pub(crate) async fn get_actor("),
        Some("get_actor".into())
    );
    assert_eq!(function_name("    let fn_name = 1;"), None);
}

#[test]
fn the_dockerfile_copies_every_member_manifest() {
    let dockerfile = std::fs::read_to_string(root().join("deploy/docker/Dockerfile"))
        .expect("read deploy/docker/Dockerfile");
    let missing: Vec<String> = packages()
        .values()
        .map(|(dir, _)| format!("COPY {dir}/Cargo.toml {dir}/Cargo.toml"))
        .filter(|copy| !dockerfile.contains(copy))
        .collect();
    assert!(missing.is_empty(), "the Dockerfile lacks: {missing:#?}");
}

#[test]
fn every_migration_file_is_embedded_as_sqlx_would_read_it() {
    let services: [(&str, &chancery_runtime::db::Migrations); 4] = [
        ("actors", &chancery_actors::MIGRATIONS),
        ("communications", &chancery_communications::MIGRATIONS),
        ("statements", &chancery_statements::MIGRATIONS),
        ("gateway", &chancery_gateway::MIGRATIONS),
    ];
    for (service, migrations) in services {
        for (backend, embedded) in [
            ("sqlite", migrations.sqlite),
            ("postgres", migrations.postgres),
        ] {
            let dir = root().join(format!("services/{service}/migrations/{backend}"));
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|entry| entry.expect("an entry").path())
                .collect();
            files.sort();
            assert_eq!(
                files.len(),
                embedded.len(),
                "{service}/{backend}: every file of {} is embedded, and nothing else",
                dir.display()
            );
            for (file, migration) in files.iter().zip(embedded) {
                let name = file.file_stem().expect("a name").to_string_lossy();
                let (version, description) = name.split_once('_').expect("NNNN_description");
                let sql = std::fs::read_to_string(file).expect("read a migration");
                assert_eq!(
                    (migration.version, migration.description, migration.sql),
                    (
                        version.parse().expect("a version number"),
                        description.replace('_', " ").as_str(),
                        sql.as_str()
                    ),
                    "{}",
                    file.display()
                );
            }
        }
    }
}
