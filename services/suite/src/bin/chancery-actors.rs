//! `chancery-actors`: the actors service alone, configured from the environment (see the README's
//! Configuration section).

fn main() -> std::process::ExitCode {
    chancery_suite::process::run(chancery_suite::Service::Actors)
}
