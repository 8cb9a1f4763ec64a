//! The `chancery-actors` binary refuses a bad configuration before doing anything, naming the
//! variable, with exit code 64.

use std::process::Command;

#[test]
fn a_bad_variable_stops_start_up_and_is_named() {
    for (variable, value) in [
        ("CHANCERY_LISTEN", "localhost:50052"),
        ("CHANCERY_DATABASE_URL", "mysql://db/actors"),
        ("CHANCERY_LOG_FORMAT", "xml"),
        ("CHANCERY_DRAIN_TIMEOUT", "a while"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_chancery-actors"))
            .env(variable, value)
            .output()
            .expect("run chancery-actors");
        assert_eq!(output.status.code(), Some(64), "{variable}={value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.starts_with(&format!("invalid configuration: {variable}: ")),
            "{variable}: {stderr}"
        );
    }
}
