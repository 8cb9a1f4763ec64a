//! Command-line parsing. Ten lines of matching do what a parser crate would, without its build
//! time; every flag is listed in [`USAGE`].

use std::net::IpAddr;
use std::path::PathBuf;

/// Where the client commands find the gateway unless `--gateway` says otherwise.
pub const DEFAULT_GATEWAY: &str = "http://127.0.0.1:50051";

/// What `chancery --help` prints.
pub const USAGE: &str = "\
Usage: chancery <command> [options]

Commands:
  up                      Run every Chancery service in this process, each on its own port:
                          gateway 50051, actors 50052, communications 50053, statements 50054.
  import FILE             Import an episode bundle (JSON; `-` reads standard input) through
                          the gateway: every resource goes to its service, idempotently.
  export episodes/ID      Export an episode and everything it refers to as a bundle (JSON).
  view episodes/ID        Show an episode's sourced timeline, as the gateway composes it.

Options of `up`:
  --demo               Also import the demo episode, episodes/macron-putin-2022-03, once the
                       services are up (again on later starts: nothing changes twice).
  --in-memory          Keep data in memory only (lost at exit).
  --data-dir DIR       Keep SQLite files in DIR (default ./data).
  --database-url URL   Keep the data in one PostgreSQL database instead (postgres://…), each
                       service in its own schema: actors, communications, statements, gateway
                       (created when missing).
  --host IP            Address to listen on (default 127.0.0.1; 0.0.0.0 for every interface).
  --port-base N        Ports N (gateway), N+1 (actors), N+2, N+3 instead of 50051…;
                       0 picks free ports and prints them.

Options of `import`, `export` and `view`:
  --gateway URI        The gateway to talk to (default http://127.0.0.1:50051; host:port works).
  -o, --output FILE    `export` only: write the bundle to FILE instead of standard output.
  --token-file FILE    Send the bearer token in FILE (a writer's for `import`, a reader's is
                       enough for `export` and `view`); default: CHANCERY_TOKEN_FILE.
  --ca-file FILE       For an https:// gateway (required with one): the PEM CA bundle its
                       certificate is verified against.
  --cert-file FILE     With --key-file: the PEM client certificate to present, for a gateway
  --key-file FILE      that asks for one (mutual TLS), and its PEM private key.
  --server-name NAME   The name the gateway's certificate must carry, when it differs from the
                       --gateway host (through `kubectl port-forward`: --server-name gateway).

Other:
  -h, --help           Show this help.
  -V, --version        Show the version.

Exit status: 0 on success (a view with unreachable parts is still a view), 1 when the gateway
refuses the request, 64 on bad arguments, 65 when a bundle file is not valid, 66 when it cannot
be read, 69 when the gateway cannot be reached, 73 when the output cannot be written.

Environment: RUST_LOG (default info), CHANCERY_LOG_FORMAT (pretty|json), CHANCERY_TOKEN_FILE
(the client commands' token file when --token-file is not given).
";

/// Options of `chancery up`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpOptions {
    /// Keep data in memory only.
    pub in_memory: bool,
    /// Directory of the SQLite files.
    pub data_dir: PathBuf,
    /// A PostgreSQL database to keep every service's data in (a schema each), instead of
    /// SQLite files.
    pub database_url: Option<String>,
    /// Address to listen on.
    pub host: IpAddr,
    /// Port of the gateway; the other services follow it. 0 for free ports.
    pub port_base: u16,
    /// Import the demo bundle once the services are up.
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// The bundle file; `-` for standard input.
    pub file: PathBuf,
    /// URI of the gateway, `http://host:port` or `https://host:port`.
    pub gateway: String,
    /// The file of the bearer token to send (`--token-file`).
    pub token_file: Option<PathBuf>,
    /// TLS files for an `https://` gateway.
    pub tls: crate::cli::client::TlsFiles,
}

/// Options of `chancery export`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOptions {
    /// The episode, `episodes/{id}`.
    pub episode: String,
    /// URI of the gateway, `http://host:port` or `https://host:port`.
    pub gateway: String,
    /// Where to write the bundle; standard output when `None`.
    pub output: Option<PathBuf>,
    /// The file of the bearer token to send (`--token-file`).
    pub token_file: Option<PathBuf>,
    /// TLS files for an `https://` gateway.
    pub tls: crate::cli::client::TlsFiles,
}

/// Options of `chancery view`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewOptions {
    /// The episode, `episodes/{id}`.
    pub episode: String,
    /// URI of the gateway, `http://host:port` or `https://host:port`.
    pub gateway: String,
    /// The file of the bearer token to send (`--token-file`).
    pub token_file: Option<PathBuf>,
    /// TLS files for an `https://` gateway.
    pub tls: crate::cli::client::TlsFiles,
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Print the usage.
    Help,
    /// Print the version.
    Version,
    /// Run the suite.
    Up(UpOptions),
    /// Import a bundle.
    Import(ImportOptions),
    /// Export an episode as a bundle.
    Export(ExportOptions),
    /// Show an episode's view.
    View(ViewOptions),
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let Some((command, rest)) = args.split_first() else {
        return Ok(Command::Help);
    };
    match command.as_str() {
        "-h" | "--help" | "help" => Ok(Command::Help),
        "-V" | "--version" => Ok(Command::Version),
        "up" => parse_up(rest).map(Command::Up),
        "import" => parse_import(rest).map(Command::Import),
        "export" => parse_export(rest).map(Command::Export),
        "view" => parse_view(rest).map(Command::View),
        other => Err(format!("unknown command {other:?}")),
    }
}

fn parse_up(args: &[String]) -> Result<UpOptions, String> {
    let mut options = UpOptions::default();
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--demo" => options.demo = true,
            "--in-memory" => options.in_memory = true,
            "--data-dir" => options.data_dir = PathBuf::from(value("--data-dir")?),
            "--database-url" => {
                let url = value("--database-url")?;
                if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                    return Err(format!(
                        "--database-url must be a PostgreSQL URL, postgres://… (got {:?}); SQLite files go in --data-dir",
                        chancery_runtime::db::redact(&url)
                    ));
                }
                options.database_url = Some(url);
            }
            "--host" => {
                let host = value("--host")?;
                options.host = host
                    .parse()
                    .map_err(|_| format!("--host must be an IP address (got {host:?})"))?;
            }
            "--port-base" => {
                let base = value("--port-base")?;
                options.port_base = match base.parse::<u16>() {
                    Ok(n) if n == 0 || n <= u16::MAX - 4 => n,
                    _ => {
                        return Err(format!(
                            "--port-base must be 0 or a port below 65532 (got {base:?})"
                        ));
                    }
                };
            }
            other => return Err(format!("unknown option {other:?} for `up`")),
        }
    }
    if options.in_memory && options.database_url.is_some() {
        return Err("--in-memory and --database-url exclude each other".into());
    }
    Ok(options)
}

/// The gateway URI of `--gateway`: `http://host:port`, or `host:port` taken as such.
fn gateway_uri(value: &str) -> Result<String, String> {
    let uri = if value.contains("://") {
        value.to_owned()
    } else {
        format!("http://{value}")
    };
    chancery_runtime::config::parse_backend_uri(&uri)
        .map(|_| uri.trim_end_matches('/').to_owned())
        .map_err(|problem| format!("--gateway {problem}"))
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

/// The options and the one positional argument of a client command.
struct ClientArgs {
    positional: Option<String>,
    gateway: String,
    output: Option<PathBuf>,
    token_file: Option<PathBuf>,
    tls: crate::cli::client::TlsFiles,
}

fn parse_client(command: &str, args: &[String], takes_output: bool) -> Result<ClientArgs, String> {
    let mut parsed = ClientArgs {
        positional: None,
        gateway: DEFAULT_GATEWAY.to_owned(),
        output: None,
        token_file: None,
        tls: crate::cli::client::TlsFiles::default(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--gateway" => parsed.gateway = gateway_uri(&value("--gateway")?)?,
            "--token-file" => parsed.token_file = Some(PathBuf::from(value("--token-file")?)),
            "--ca-file" => parsed.tls.ca_file = Some(PathBuf::from(value("--ca-file")?)),
            "--cert-file" => parsed.tls.cert_file = Some(PathBuf::from(value("--cert-file")?)),
            "--key-file" => parsed.tls.key_file = Some(PathBuf::from(value("--key-file")?)),
            "--server-name" => parsed.tls.server_name = Some(value("--server-name")?),
            "-o" | "--output" if takes_output => {
                parsed.output = Some(PathBuf::from(value(arg)?));
            }
            flag if flag.starts_with('-') && flag != "-" => {
                return Err(format!("unknown option {flag:?} for `{command}`"));
            }
            positional => {
                if parsed.positional.is_some() {
                    return Err(format!(
                        "`{command}` takes one argument (got {positional:?} too)"
                    ));
                }
                parsed.positional = Some(positional.to_owned());
            }
        }
    }
    let tls = &parsed.tls;
    if tls.cert_file.is_some() != tls.key_file.is_some() {
        return Err("--cert-file and --key-file go together".into());
    }
    let https = parsed.gateway.starts_with("https://");
    if https && tls.ca_file.is_none() {
        return Err("--gateway https://… needs --ca-file, the CA bundle to verify it with".into());
    }
    if !https && (tls.ca_file.is_some() || tls.cert_file.is_some() || tls.server_name.is_some()) {
        return Err(
            "--ca-file, --cert-file, --key-file and --server-name need an https:// --gateway"
                .into(),
        );
    }
    Ok(parsed)
}

fn parse_import(args: &[String]) -> Result<ImportOptions, String> {
    let parsed = parse_client("import", args, false)?;
    let file = parsed
        .positional
        .ok_or("`import` needs the bundle file to import (or - for standard input)")?;
    Ok(ImportOptions {
        file: PathBuf::from(file),
        gateway: parsed.gateway,
        token_file: parsed.token_file,
        tls: parsed.tls,
    })
}

fn parse_export(args: &[String]) -> Result<ExportOptions, String> {
    let parsed = parse_client("export", args, true)?;
    let episode = parsed
        .positional
        .ok_or("`export` needs the episode to export, as episodes/ID")?;
    Ok(ExportOptions {
        episode: episode_name(&episode)?,
        gateway: parsed.gateway,
        output: parsed.output,
        token_file: parsed.token_file,
        tls: parsed.tls,
    })
}

fn parse_view(args: &[String]) -> Result<ViewOptions, String> {
    let parsed = parse_client("view", args, false)?;
    let episode = parsed
        .positional
        .ok_or("`view` needs the episode to show, as episodes/ID")?;
    Ok(ViewOptions {
        episode: episode_name(&episode)?,
        gateway: parsed.gateway,
        token_file: parsed.token_file,
        tls: parsed.tls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn up_takes_its_options() {
        let parsed = parse(&strings(&[
            "up",
            "--in-memory",
            "--host",
            "0.0.0.0",
            "--port-base",
            "0",
            "--demo",
        ]))
        .unwrap();
        assert_eq!(
            parsed,
            Command::Up(UpOptions {
                in_memory: true,
                host: IpAddr::from([0, 0, 0, 0]),
                port_base: 0,
                demo: true,
                ..Default::default()
            })
        );
        assert_eq!(
            parse(&strings(&["up"])).unwrap(),
            Command::Up(UpOptions::default())
        );
        assert_eq!(
            parse(&strings(&[
                "up",
                "--database-url",
                "postgres://db/chancery"
            ]))
            .unwrap(),
            Command::Up(UpOptions {
                database_url: Some("postgres://db/chancery".into()),
                ..Default::default()
            })
        );
    }

    #[test]
    fn client_commands_take_their_argument_and_a_gateway() {
        assert_eq!(
            parse(&strings(&["import", "demo.json"])).unwrap(),
            Command::Import(ImportOptions {
                file: PathBuf::from("demo.json"),
                gateway: DEFAULT_GATEWAY.into(),
                token_file: None,
                tls: Default::default(),
            })
        );
        assert_eq!(
            parse(&strings(&[
                "import",
                "-",
                "--gateway",
                "127.0.0.1:6000",
                "--token-file",
                "/run/secrets/token",
            ]))
            .unwrap(),
            Command::Import(ImportOptions {
                file: PathBuf::from("-"),
                gateway: "http://127.0.0.1:6000".into(),
                token_file: Some(PathBuf::from("/run/secrets/token")),
                tls: Default::default(),
            })
        );
        assert_eq!(
            parse(&strings(&[
                "export",
                "--gateway",
                "http://gateway:50051/",
                "episodes/macron-putin-2022-03",
                "-o",
                "out.json",
            ]))
            .unwrap(),
            Command::Export(ExportOptions {
                episode: "episodes/macron-putin-2022-03".into(),
                gateway: "http://gateway:50051".into(),
                output: Some(PathBuf::from("out.json")),
                token_file: None,
                tls: Default::default(),
            })
        );
        assert_eq!(
            parse(&strings(&["view", "macron-putin-2022-03"])).unwrap(),
            Command::View(ViewOptions {
                episode: "episodes/macron-putin-2022-03".into(),
                gateway: DEFAULT_GATEWAY.into(),
                token_file: None,
                tls: Default::default(),
            })
        );
    }

    #[test]
    fn an_https_gateway_takes_a_ca_and_a_client_certificate() {
        assert_eq!(
            parse(&strings(&[
                "view",
                "x",
                "--gateway",
                "https://gateway:50051",
                "--ca-file",
                "/tls/ca.crt",
                "--cert-file",
                "/tls/tls.crt",
                "--key-file",
                "/tls/tls.key",
                "--server-name",
                "gateway",
            ]))
            .unwrap(),
            Command::View(ViewOptions {
                episode: "episodes/x".into(),
                gateway: "https://gateway:50051".into(),
                token_file: None,
                tls: crate::cli::client::TlsFiles {
                    ca_file: Some("/tls/ca.crt".into()),
                    cert_file: Some("/tls/tls.crt".into()),
                    key_file: Some("/tls/tls.key".into()),
                    server_name: Some("gateway".into()),
                },
            })
        );
    }

    #[test]
    fn mistakes_are_explained() {
        let problem = |args: &[&str]| parse(&strings(args)).unwrap_err();
        assert!(problem(&["down"]).contains("unknown command"));
        assert!(problem(&["up", "--host"]).contains("needs a value"));
        assert!(problem(&["up", "--host", "localhost"]).contains("IP address"));
        assert!(problem(&["up", "--port-base", "70000"]).contains("--port-base"));
        assert!(problem(&["up", "--verbose"]).contains("unknown option"));
        assert!(problem(&["up", "--database-url", "sqlite://x.db"]).contains("PostgreSQL URL"));
        assert!(
            problem(&["up", "--in-memory", "--database-url", "postgres://db/x"])
                .contains("exclude")
        );
        assert!(problem(&["import"]).contains("bundle file"));
        assert!(problem(&["import", "a.json", "b.json"]).contains("one argument"));
        assert!(problem(&["import", "a.json", "-o", "x"]).contains("unknown option"));
        assert!(problem(&["export"]).contains("episodes/ID"));
        assert!(problem(&["export", "actors/tass"]).contains("episodes/ID"));
        assert!(problem(&["view", "Episodes/X"]).contains("episodes/ID"));
        assert!(problem(&["view", "x", "--gateway", "https://g:1"]).contains("--ca-file"));
        assert!(problem(&["view", "x", "--ca-file", "ca.crt"]).contains("https://"));
        assert!(problem(&["view", "x", "--server-name", "gateway"]).contains("https://"));
        assert!(
            problem(&[
                "view",
                "x",
                "--gateway",
                "https://g:1",
                "--ca-file",
                "c",
                "--cert-file",
                "x"
            ])
            .contains("--key-file")
        );
        assert!(problem(&["view", "x", "--gateway", "g"]).contains("--gateway"));
        assert_eq!(parse(&[]).unwrap(), Command::Help);
    }
}
