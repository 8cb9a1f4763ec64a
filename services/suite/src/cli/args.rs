//! Command-line parsing, on clap (derive): every command and option with its help (`chancery
//! help`, `-h`, `--help`, `chancery up --help` …), `--flag value` and `--flag=value`, errors
//! that name the wrong argument and suggest a similar one, and shell completions. [`parse`]
//! turns the arguments into a [`Command`] without a process, so the tests below run the real
//! parser.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::cli::client::TlsFiles;

/// Where the client commands find the gateway unless `--gateway` says otherwise.
pub const DEFAULT_GATEWAY: &str = "http://127.0.0.1:50051";

/// The end of `chancery --help`: exit statuses and the environment.
const AFTER_HELP: &str = "\
Exit status: 0 on success (a view with unreachable parts is still a view), 1 when the gateway
refuses the request, 64 on bad arguments, 65 when a bundle file is not valid, 66 when it cannot
be read, 69 when the gateway cannot be reached, 73 when the output cannot be written.

Environment: RUST_LOG (default info), CHANCERY_LOG_FORMAT (pretty|json), CHANCERY_TOKEN_FILE
(the client commands' token file when --token-file is not given). `chancery up --help` lists
the server variables `up` reads.

Shell completions: `source <(chancery completions bash)` (or zsh, fish).";

/// The end of `chancery up --help`: the server variables and how four services in one process
/// share them.
const UP_AFTER_HELP: &str = "\
Environment: the server variables of the service binaries (README, Configuration), applied to
each of the four services:
  CHANCERY_REQUEST_TIMEOUT, CHANCERY_MAX_CONCURRENT_REQUESTS (a limit for each service),
  CHANCERY_DRAIN_TIMEOUT, CHANCERY_SHUTDOWN_DELAY, CHANCERY_REFLECTION, CHANCERY_LOG_FORMAT,
  RUST_LOG; CHANCERY_BACKEND_COMPRESSION and CHANCERY_CORS_ALLOWED_ORIGINS (the gateway's);
  CHANCERY_TOKENS_FILE and CHANCERY_OPEN_READS (access control, on every port), with
  CHANCERY_SERVICE_TOKEN_FILE, then required: a writer's token, which the services send each
  other and --demo imports with.
CHANCERY_METRICS_LISTEN: ONE /metrics endpoint for the whole process (every service's series,
  told apart by their `service` label), printed as `metrics ADDRESS`; port 0 picks a free one.
Refused (exit 64, naming the variable):
  CHANCERY_LISTEN (use --host and --port-base), CHANCERY_DATABASE_URL (--data-dir,
  --database-url or --in-memory), CHANCERY_ACTORS_ADDR, CHANCERY_COMMUNICATIONS_ADDR and
  CHANCERY_STATEMENTS_ADDR (`up` wires its services to each other itself), CHANCERY_TLS_CERT,
  CHANCERY_TLS_KEY, CHANCERY_TLS_CLIENT_CA and CHANCERY_TLS_CA (`up` serves plaintext; run the
  service binaries for TLS), CHANCERY_HEALTH_LISTEN (every port of `up` already answers
  grpc.health.v1.Health in plaintext).

Once every service reports SERVING (with --demo: once the demo is imported, not before), one
line says so: `ready: gateway at ADDRESS — try: grpcurl -plaintext ADDRESS list`.";

/// `chancery`: the whole suite in one process, and the commands that drive it.
#[derive(Debug, Parser)]
#[command(
    name = "chancery",
    version,
    about = "Chancery: who said what to whom, and who reported it, as gRPC services.",
    after_help = AFTER_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Sub>,
}

/// The commands.
#[derive(Debug, Subcommand)]
enum Sub {
    /// Run every Chancery service in this process, each on its own port.
    ///
    /// Ports: gateway 50051, actors 50052, communications 50053, statements 50054 (see
    /// --port-base). Stops on SIGTERM or Ctrl-C: every service turns NOT_SERVING and drains.
    #[command(after_help = UP_AFTER_HELP)]
    Up(UpOptions),
    /// Import an episode bundle (JSON) through the gateway.
    ///
    /// Every resource goes to its service, idempotently: importing the same bundle again
    /// changes nothing. `-` reads the bundle from standard input.
    Import(ImportOptions),
    /// Export an episode and everything it refers to as a bundle (JSON).
    Export(ExportOptions),
    /// Show an episode's sourced timeline, as the gateway composes it.
    View(ViewOptions),
    /// Print a shell completion script.
    ///
    /// bash: `source <(chancery completions bash)`; zsh: `chancery completions zsh >
    /// ~/.zfunc/_chancery`; fish: `chancery completions fish >
    /// ~/.config/fish/completions/chancery.fish`.
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Options of `chancery up`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct UpOptions {
    /// Keep data in memory only (lost at exit).
    #[arg(long, conflicts_with = "database_url")]
    pub in_memory: bool,
    /// Keep SQLite files in DIR.
    #[arg(long, value_name = "DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Keep the data in one PostgreSQL database instead (postgres://…), each service in its own
    /// schema: actors, communications, statements, gateway (created when missing).
    #[arg(long, value_name = "URL", value_parser = postgres_url)]
    pub database_url: Option<String>,
    /// Address to listen on (0.0.0.0 for every interface).
    #[arg(long, value_name = "IP", default_value = "127.0.0.1", value_parser = host)]
    pub host: IpAddr,
    /// Ports N (gateway), N+1 (actors), N+2, N+3; 0 picks free ports and prints them.
    #[arg(long, value_name = "N", default_value = "50051", value_parser = port_base)]
    pub port_base: u16,
    /// Also import the demo episode, episodes/macron-putin-2022-03, once the services are up
    /// (again on later starts: nothing changes twice); health says SERVING only after it.
    #[arg(long)]
    pub demo: bool,
}

impl Default for UpOptions {
    fn default() -> Self {
        Self {
            in_memory: false,
            data_dir: PathBuf::from("data"),
            database_url: None,
            host: IpAddr::from([127, 0, 0, 1]),
            port_base: 50051,
            demo: false,
        }
    }
}

/// Options of `chancery import`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ImportOptions {
    /// The bundle file to import; `-` reads standard input.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The gateway to talk to (host:port works).
    #[arg(long, value_name = "URI", default_value = DEFAULT_GATEWAY, value_parser = gateway_uri)]
    pub gateway: String,
    /// Send the bearer token in FILE (a writer's); default: the file CHANCERY_TOKEN_FILE names.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// TLS files for an `https://` gateway.
    #[command(flatten)]
    pub tls: TlsFiles,
}

/// Options of `chancery export`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ExportOptions {
    /// The episode to export, episodes/ID (or just ID).
    #[arg(value_name = "episodes/ID", value_parser = episode_name)]
    pub episode: String,
    /// The gateway to talk to (host:port works).
    #[arg(long, value_name = "URI", default_value = DEFAULT_GATEWAY, value_parser = gateway_uri)]
    pub gateway: String,
    /// Write the bundle to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Send the bearer token in FILE (a reader's is enough); default: the file
    /// CHANCERY_TOKEN_FILE names.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// TLS files for an `https://` gateway.
    #[command(flatten)]
    pub tls: TlsFiles,
}

/// Options of `chancery view`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ViewOptions {
    /// The episode to show, episodes/ID (or just ID).
    #[arg(value_name = "episodes/ID", value_parser = episode_name)]
    pub episode: String,
    /// The gateway to talk to (host:port works).
    #[arg(long, value_name = "URI", default_value = DEFAULT_GATEWAY, value_parser = gateway_uri)]
    pub gateway: String,
    /// Send the bearer token in FILE (a reader's is enough); default: the file
    /// CHANCERY_TOKEN_FILE names.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// TLS files for an `https://` gateway.
    #[command(flatten)]
    pub tls: TlsFiles,
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// No command: print the usage.
    Help,
    /// Run the suite.
    Up(UpOptions),
    /// Import a bundle.
    Import(ImportOptions),
    /// Export an episode as a bundle.
    Export(ExportOptions),
    /// Show an episode's view.
    View(ViewOptions),
    /// Print a completion script.
    Completions(clap_complete::Shell),
}

/// Parses the arguments after the program name. `--help`, `--version` and `help` come back as
/// errors whose [`clap::Error::kind`] says so and whose text is what to print (see
/// [`report`]); every other error names the argument at fault.
pub fn parse(args: &[String]) -> Result<Command, clap::Error> {
    let words = std::iter::once("chancery".to_owned()).chain(args.iter().cloned());
    let cli = Cli::try_parse_from(words).map_err(|error| with_usage(error, args))?;
    Ok(match cli.command {
        None => Command::Help,
        Some(Sub::Up(options)) => Command::Up(options),
        Some(Sub::Import(options)) => {
            check_tls("import", &options.gateway, &options.tls)?;
            Command::Import(options)
        }
        Some(Sub::Export(options)) => {
            check_tls("export", &options.gateway, &options.tls)?;
            Command::Export(options)
        }
        Some(Sub::View(options)) => {
            check_tls("view", &options.gateway, &options.tls)?;
            Command::View(options)
        }
        Some(Sub::Completions { shell }) => Command::Completions(shell),
    })
}

/// `error`, with the usage of the command `args` name when clap left it out (as it does for
/// a bad value), so every mistake shows how the command is used.
fn with_usage(mut error: clap::Error, args: &[String]) -> clap::Error {
    use clap::error::{ContextKind, ContextValue};
    if !error.use_stderr() || error.get(ContextKind::Usage).is_some() {
        return error;
    }
    let mut cli = Cli::command();
    cli.build();
    let usage = match args.first().and_then(|name| cli.find_subcommand_mut(name)) {
        Some(command) => command.render_usage(),
        None => cli.render_usage(),
    };
    error.insert(ContextKind::Usage, ContextValue::StyledStr(usage));
    error
}

/// What `chancery --help` prints.
pub fn help() -> String {
    Cli::command().render_help().to_string()
}

/// Writes the completion script of `shell` for `chancery` to `out`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn std::io::Write) {
    clap_complete::generate(shell, &mut Cli::command(), "chancery", out);
}

/// Prints a parse outcome that is not a command: help and the version on standard output,
/// exit 0; a mistake on standard error, exit 64 (`EX_USAGE`).
pub fn report(error: &clap::Error) -> std::process::ExitCode {
    let _ = error.print();
    if error.use_stderr() {
        std::process::ExitCode::from(crate::cli::client::EXIT_USAGE)
    } else {
        std::process::ExitCode::SUCCESS
    }
}

/// The TLS options make sense together: an `https://` gateway needs `--ca-file`, and the TLS
/// options need an `https://` gateway.
fn check_tls(command: &str, gateway: &str, tls: &TlsFiles) -> Result<(), clap::Error> {
    let https = gateway.starts_with("https://");
    let problem = if https && tls.ca_file.is_none() {
        Some((
            ErrorKind::MissingRequiredArgument,
            "--gateway https://… needs --ca-file, the CA bundle to verify it with",
        ))
    } else if !https
        && (tls.ca_file.is_some() || tls.cert_file.is_some() || tls.server_name.is_some())
    {
        Some((
            ErrorKind::ArgumentConflict,
            "--ca-file, --cert-file, --key-file and --server-name need an https:// --gateway",
        ))
    } else {
        None
    };
    let Some((kind, message)) = problem else {
        return Ok(());
    };
    let mut cli = Cli::command();
    cli.build();
    let sub = cli
        .find_subcommand_mut(command)
        .expect("a command of the parser");
    Err(sub.error(kind, message))
}

/// `--database-url`: a PostgreSQL URL.
fn postgres_url(url: &str) -> Result<String, String> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(url.to_owned())
    } else {
        Err(format!(
            "must be a PostgreSQL URL, postgres://… (got {:?}); SQLite files go in --data-dir",
            chancery_runtime::db::redact(url)
        ))
    }
}

/// `--host`: an IP address.
fn host(value: &str) -> Result<IpAddr, String> {
    value
        .parse()
        .map_err(|_| format!("must be an IP address, such as 0.0.0.0 (got {value:?})"))
}

/// `--port-base`: 0, or a port leaving room for the three after it.
fn port_base(value: &str) -> Result<u16, String> {
    match value.parse::<u16>() {
        Ok(n) if n <= u16::MAX - 4 => Ok(n),
        _ => Err(format!("must be 0 or a port below 65532 (got {value:?})")),
    }
}

/// `--gateway`: `http://host:port` or `https://host:port`, or `host:port` taken as `http://`.
fn gateway_uri(value: &str) -> Result<String, String> {
    let uri = if value.contains("://") {
        value.to_owned()
    } else {
        format!("http://{value}")
    };
    chancery_runtime::config::parse_backend_uri(&uri).map(|_| uri.trim_end_matches('/').to_owned())
}

/// The episode an argument names: `episodes/{id}`, or a bare id.
fn episode_name(value: &str) -> Result<String, String> {
    let name = if value.contains('/') {
        value.to_owned()
    } else {
        format!("episodes/{value}")
    };
    match chancery_runtime::names::parse(&name, "episodes") {
        Some(_) => Ok(name),
        None => Err(format!(
            "expected an episode as episodes/ID, such as episodes/macron-putin-2022-03 (got {value:?})"
        )),
    }
}

#[cfg(test)]
mod tests;
