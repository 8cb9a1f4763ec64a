//! `chancery`: run the whole suite in one process (`chancery up`) and drive it (`import`,
//! `export`, `view`).

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    chancery_suite::run(&args).await
}
