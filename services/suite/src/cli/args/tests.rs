//! The real parser on argument lists: what each command takes, and that every mistake is an
//! error naming the argument at fault (exit 64), while help and the version are not mistakes.

use super::*;

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

/// The error `args` give, rendered as the person sees it.
fn problem(args: &[&str]) -> String {
    let error = parse(&strings(args)).expect_err("a mistake");
    assert!(error.use_stderr(), "{args:?} is a mistake, told on stderr");
    error.render().to_string()
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
    assert_eq!(
        parse(&strings(&["up", "--data-dir", "/var/chancery"])).unwrap(),
        Command::Up(UpOptions {
            data_dir: PathBuf::from("/var/chancery"),
            ..Default::default()
        })
    );
}

#[test]
fn a_value_may_follow_its_flag_or_an_equals_sign() {
    assert_eq!(
        parse(&strings(&[
            "up",
            "--port-base=0",
            "--host=::1",
            "--data-dir=d"
        ]))
        .unwrap(),
        Command::Up(UpOptions {
            port_base: 0,
            host: "::1".parse().unwrap(),
            data_dir: PathBuf::from("d"),
            ..Default::default()
        })
    );
    assert_eq!(
        parse(&strings(&[
            "export",
            "x",
            "--gateway=127.0.0.1:6000",
            "-o=out.json"
        ]))
        .unwrap(),
        parse(&strings(&[
            "export",
            "x",
            "--gateway",
            "127.0.0.1:6000",
            "-o",
            "out.json"
        ]))
        .unwrap()
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
        parse(&strings(&["export", "x", "--output", "out.json"])).unwrap(),
        parse(&strings(&["export", "x", "-o", "out.json"])).unwrap()
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
            tls: TlsFiles {
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
    let kind = |args: &[&str]| parse(&strings(args)).unwrap_err().kind();
    assert_eq!(kind(&["down"]), ErrorKind::InvalidSubcommand);
    assert!(problem(&["down"]).contains("unrecognized subcommand 'down'"));
    assert!(problem(&["up", "--host"]).contains("a value is required for '--host <IP>'"));
    let localhost = problem(&["up", "--host", "localhost"]);
    assert!(
        localhost.contains("--host") && localhost.contains("IP address"),
        "{localhost}"
    );
    assert!(problem(&["up", "--port-base", "70000"]).contains("--port-base"));
    // Every mistake shows the command's usage, a bad value included.
    assert!(problem(&["up", "--port-base", "x"]).contains("Usage: chancery up [OPTIONS]"));
    assert!(problem(&["down"]).contains("Usage: chancery [COMMAND]"));
    assert!(problem(&["up", "--port-base", "65533"]).contains("below 65532"));
    assert!(problem(&["up", "--verbose"]).contains("unexpected argument '--verbose'"));
    let sqlite = problem(&["up", "--database-url", "sqlite://x.db"]);
    assert!(
        sqlite.contains("--database-url") && sqlite.contains("PostgreSQL URL"),
        "{sqlite}"
    );
    let both = problem(&["up", "--in-memory", "--database-url", "postgres://db/x"]);
    assert!(
        both.contains("'--in-memory' cannot be used with '--database-url <URL>'"),
        "{both}"
    );
    assert_eq!(kind(&["import"]), ErrorKind::MissingRequiredArgument);
    assert!(problem(&["import"]).contains("<FILE>"));
    assert!(problem(&["import", "a.json", "b.json"]).contains("unexpected argument 'b.json'"));
    assert!(problem(&["import", "a.json", "-o", "x"]).contains("unexpected argument '-o'"));
    assert!(problem(&["export"]).contains("<episodes/ID>"));
    assert!(problem(&["export", "actors/tass"]).contains("episodes/ID"));
    assert!(problem(&["view", "Episodes/X"]).contains("episodes/ID"));
    assert!(problem(&["view", "x", "--gateway", "https://g:1"]).contains("--ca-file"));
    assert!(problem(&["view", "x", "--ca-file", "ca.crt"]).contains("https://"));
    assert!(problem(&["view", "x", "--server-name", "gateway"]).contains("https://"));
    let alone = problem(&[
        "view",
        "x",
        "--gateway",
        "https://g:1",
        "--ca-file",
        "c",
        "--cert-file",
        "x",
    ]);
    assert!(alone.contains("--key-file"), "{alone}");
    assert!(problem(&["view", "x", "--gateway", "g"]).contains("--gateway"));
    assert_eq!(parse(&[]).unwrap(), Command::Help);
}

#[test]
fn a_typo_gets_a_suggestion() {
    let flag = problem(&["view", "x", "--gatway", "g:1"]);
    assert!(
        flag.contains("unexpected argument '--gatway'")
            && flag.contains("a similar argument exists: '--gateway'"),
        "{flag}"
    );
    let command = problem(&["imprt", "a.json"]);
    assert!(
        command.contains("unrecognized subcommand 'imprt'") && command.contains("'import'"),
        "{command}"
    );
    let up = problem(&["up", "--in-memroy"]);
    assert!(up.contains("'--in-memory'"), "{up}");
}

#[test]
fn help_and_the_version_are_not_mistakes() {
    for args in [
        &["--help"][..],
        &["-h"],
        &["help"],
        &["up", "--help"],
        &["up", "-h"],
        &["help", "up"],
        &["import", "--help"],
        &["export", "-h"],
        &["view", "--help"],
        &["completions", "--help"],
        &["--version"],
        &["-V"],
    ] {
        let error = parse(&strings(args)).expect_err("not a command to run");
        assert!(!error.use_stderr(), "{args:?}: {}", error.render());
        assert_eq!(error.exit_code(), 0, "{args:?}");
    }
    let version = parse(&strings(&["--version"])).unwrap_err().render();
    assert_eq!(version.to_string(), "chancery 0.1.0\n");
}

#[test]
fn the_help_of_each_command_names_its_options() {
    let help = |args: &[&str]| parse(&strings(args)).unwrap_err().render().to_string();
    let top = help(&["--help"]);
    for word in [
        "up",
        "import",
        "export",
        "view",
        "completions",
        "Exit status",
    ] {
        assert!(top.contains(word), "{word} missing from:\n{top}");
    }
    assert_eq!(top, super::help());
    let up = help(&["up", "--help"]);
    for option in [
        "--demo",
        "--in-memory",
        "--data-dir <DIR>",
        "--database-url <URL>",
        "--host <IP>",
        "--port-base <N>",
        "CHANCERY_METRICS_LISTEN",
        "CHANCERY_LISTEN",
    ] {
        assert!(up.contains(option), "{option} missing from:\n{up}");
    }
    let client = [
        "--gateway <URI>",
        "--token-file <FILE>",
        "--ca-file <FILE>",
        "--cert-file <FILE>",
        "--key-file <FILE>",
        "--server-name <NAME>",
    ];
    for command in ["import", "export", "view"] {
        let text = help(&[command, "--help"]);
        for option in client {
            assert!(
                text.contains(option),
                "{command}: {option} missing from:\n{text}"
            );
        }
    }
    assert!(help(&["export", "--help"]).contains("-o, --output <FILE>"));
    assert!(!help(&["view", "--help"]).contains("--output"));
}

#[test]
fn completion_scripts_name_every_command() {
    for shell in [
        clap_complete::Shell::Bash,
        clap_complete::Shell::Zsh,
        clap_complete::Shell::Fish,
    ] {
        let mut script = Vec::new();
        completions(shell, &mut script);
        let script = String::from_utf8(script).unwrap();
        for word in [
            "up",
            "import",
            "export",
            "view",
            "gateway",
            "port-base",
            "in-memory",
        ] {
            assert!(script.contains(word), "{shell}: {word} missing");
        }
    }
    assert_eq!(
        parse(&strings(&["completions", "zsh"])).unwrap(),
        Command::Completions(clap_complete::Shell::Zsh)
    );
    assert!(problem(&["completions", "tcsh"]).contains("possible values"));
}
