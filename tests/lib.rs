//! End-to-end suites of Chancery. Each file under `tests/tests/` starts real servers on
//! `127.0.0.1:0` through `chancery-testkit` and drives them through their public gRPC API (and,
//! in `grpcurl.rs`, through the real grpcurl binary). Run them with `cargo test --workspace`.
