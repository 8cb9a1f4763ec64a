//! The project's own files: the LICENSE the manifests declare, the changelog, and the build
//! argument that puts the revision into the binaries.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the workspace root")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|error| panic!("{path}: {error}"))
}

#[test]
fn the_license_is_the_apache_license_2_0_the_manifests_declare() {
    let license = read("LICENSE");
    assert!(
        license.trim_start().starts_with("Apache License"),
        "LICENSE starts with: {:?}",
        license.lines().find(|l| !l.trim().is_empty())
    );
    assert!(license.contains("Version 2.0, January 2004"));
    // The whole text, terms and appendix, not a summary of it.
    for part in [
        "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION",
        "9. Accepting Warranty or Additional Liability.",
        "END OF TERMS AND CONDITIONS",
        "APPENDIX: How to apply the Apache License to your work.",
        "http://www.apache.org/licenses/LICENSE-2.0",
    ] {
        assert!(license.contains(part), "LICENSE lacks {part:?}");
    }
    assert!(
        read("Cargo.toml").contains("license = \"Apache-2.0\""),
        "the workspace declares Apache-2.0"
    );
    assert!(
        read("deploy/docker/Dockerfile")
            .contains("org.opencontainers.image.licenses=\"Apache-2.0\""),
        "the image declares Apache-2.0"
    );
}

#[test]
fn the_changelog_has_an_unreleased_section_above_the_v1_release() {
    let changelog = read("CHANGELOG.md");
    let headings: Vec<&str> = changelog
        .lines()
        .filter(|line| line.starts_with("## "))
        .collect();
    assert!(
        headings.first() == Some(&"## [Unreleased]"),
        "the first section is Unreleased: {headings:?}"
    );
    assert!(
        headings.iter().any(|h| h.starts_with("## [v1] - ")),
        "the v1 release has its section: {headings:?}"
    );
    assert!(
        changelog.contains("[v1]: ") && changelog.contains("257bb97"),
        "the v1 release names its commit"
    );
    for kind in ["### Added", "### Changed", "### Fixed"] {
        assert!(changelog.contains(kind), "Keep a Changelog's {kind}");
    }
}

#[test]
fn the_image_compiles_its_revision_into_the_binaries() {
    let dockerfile = read("deploy/docker/Dockerfile");
    let build_stage = &dockerfile[..dockerfile
        .find("AS runtime")
        .expect("the Dockerfile has a runtime stage")];
    let argument = build_stage
        .find("ARG REVISION")
        .expect("the build stage takes the REVISION build argument");
    let build = build_stage
        .find("cargo build --release")
        .expect("the build stage builds the binaries");
    assert!(argument < build, "REVISION is declared before the build");
    assert!(
        build_stage.contains("CHANCERY_REVISION=\"${REVISION}\" cargo build --release"),
        "the build passes REVISION as CHANCERY_REVISION"
    );
    assert!(
        read("crates/runtime/src/metrics.rs").contains("option_env!(\"CHANCERY_REVISION\")"),
        "the runtime reads CHANCERY_REVISION at build time"
    );
}

#[test]
fn ci_checks_the_api_against_the_release_and_the_previous_commit() {
    let ci = read(".ci/run");
    assert!(ci.contains("breaking proto --against proto/released/v1.binpb"));
    assert!(ci.contains("breaking proto --against \".git#ref=HEAD~1,subdir=proto\""));
    assert!(
        ci.contains("git rev-parse --verify --quiet 'HEAD~1^{commit}'"),
        "a clone without history skips the second check"
    );
}
