//! Command-line parsing. Ten lines of matching do what a parser crate would, without its build
//! time; every flag is listed in [`USAGE`].

use std::net::IpAddr;
use std::path::PathBuf;

/// What `chancery --help` prints.
pub const USAGE: &str = "\
Usage: chancery <command> [options]

Commands:
  up          Run every Chancery service in this process, each on its own port:
              gateway 50051, actors 50052, communications 50053, statements 50054.

Options of `up`:
  --in-memory          Keep data in memory only (lost at exit).
  --data-dir DIR       Keep SQLite files in DIR (default ./data).
  --host IP            Address to listen on (default 127.0.0.1; 0.0.0.0 for every interface).
  --port-base N        Ports N (gateway), N+1 (actors), N+2, N+3 instead of 50051…;
                       0 picks free ports and prints them.

Other:
  -h, --help           Show this help.
  -V, --version        Show the version.

Environment: RUST_LOG (default info), CHANCERY_LOG_FORMAT (pretty|json).
";

/// Options of `chancery up`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpOptions {
    /// Keep data in memory only.
    pub in_memory: bool,
    /// Directory of the SQLite files.
    pub data_dir: PathBuf,
    /// Address to listen on.
    pub host: IpAddr,
    /// Port of the gateway; the other services follow it. 0 for free ports.
    pub port_base: u16,
}

impl Default for UpOptions {
    fn default() -> Self {
        Self {
            in_memory: false,
            data_dir: PathBuf::from("data"),
            host: IpAddr::from([127, 0, 0, 1]),
            port_base: 50051,
        }
    }
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
            "--in-memory" => options.in_memory = true,
            "--data-dir" => options.data_dir = PathBuf::from(value("--data-dir")?),
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
    Ok(options)
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
        ]))
        .unwrap();
        assert_eq!(
            parsed,
            Command::Up(UpOptions {
                in_memory: true,
                host: IpAddr::from([0, 0, 0, 0]),
                port_base: 0,
                ..Default::default()
            })
        );
        assert_eq!(
            parse(&strings(&["up"])).unwrap(),
            Command::Up(UpOptions::default())
        );
    }

    #[test]
    fn mistakes_are_explained() {
        assert!(
            parse(&strings(&["down"]))
                .unwrap_err()
                .contains("unknown command")
        );
        assert!(
            parse(&strings(&["up", "--host"]))
                .unwrap_err()
                .contains("needs a value")
        );
        assert!(
            parse(&strings(&["up", "--host", "localhost"]))
                .unwrap_err()
                .contains("IP address")
        );
        assert!(
            parse(&strings(&["up", "--port-base", "70000"]))
                .unwrap_err()
                .contains("--port-base")
        );
        assert!(
            parse(&strings(&["up", "--verbose"]))
                .unwrap_err()
                .contains("unknown option")
        );
        assert_eq!(parse(&[]).unwrap(), Command::Help);
    }
}
