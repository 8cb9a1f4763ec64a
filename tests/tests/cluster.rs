//! The cluster on one machine: the production overlay (`deploy/k8s/overlays/production`) rendered
//! with kubectl, and each of its four Deployments run as a separate process of the real binary
//! with exactly the environment the overlay gives its container — its `env`, its `envFrom`
//! ConfigMaps and its Secret's database URL (a fresh PostgreSQL database, one schema per
//! service) — changing only what cannot work on one machine: the listen addresses become free
//! loopback ports, every `http(s)://<service>:<port>` backend address that service's loopback
//! address, and the files of the mounted Secrets (`chancery-tls`, `chancery-tokens`) files in a
//! temporary directory laid out as the kubelet lays out the mounts, with a CA and certificate
//! and tokens made for the test (and `RUST_LOG` is `warn`, to keep the logs short). So TLS,
//! mutual TLS and bearer tokens run for real. The processes are watched through their plaintext
//! health ports, as the kubelet's probes watch them. Then the real `chancery` command imports
//! the demo bundle through the gateway (over mutual TLS, with a writer's token) and views it, a
//! gRPC client reads the view, and every process serves its Prometheus metrics.
//!
//! Skipped like the manifest tests without kubectl (failing under `CI`), and like the PostgreSQL
//! tests without PostgreSQL.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use chancery_proto::gateway::v1::GetEpisodeViewRequest;
use chancery_proto::gateway::v1::episode_service_client::EpisodeServiceClient;
use chancery_testkit::tls::{TestCa, client_tls, connect_tls};
use chancery_testkit::{Backend, TempDir, TestDatabase, postgres_available, seed, with_token};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod support;

use support::kube::{Rendered, SERVICES, kubectl};
use support::process::{Service, chancery, free_port, succeeded};

/// The Secret key the production Deployments read the database URL from.
const SECRET_KEY: &str = "database-url";

/// A writer's token: the `chancery` command's and the test client's.
const ALICE: &str = "alice-writer-token-0000000001";

/// The mounted Secrets' contents, made for the test: Secret name → key → value.
type Secrets = BTreeMap<String, BTreeMap<String, String>>;

/// `chancery-tls` (one certificate for every service, cert-manager's keys) and
/// `chancery-tokens` (the tokens file and each calling service's own token), as an operator
/// creates them.
fn secrets(ca: &TestCa) -> Secrets {
    let cert = ca.issue("chancery");
    let service_tokens = [
        ("gateway", "writer", "gateway-service-token-000001"),
        ("communications", "reader", "communications-service-tok01"),
        ("statements", "reader", "statements-service-token-0001"),
    ];
    let mut tokens = format!("writer alice {ALICE}\n");
    let mut tokens_secret = BTreeMap::new();
    for (service, role, token) in service_tokens {
        tokens.push_str(&format!("{role} {service} {token}\n"));
        tokens_secret.insert(service.to_owned(), format!("{token}\n"));
    }
    tokens_secret.insert("tokens".to_owned(), tokens);
    BTreeMap::from([
        (
            "chancery-tls".to_owned(),
            BTreeMap::from([
                ("tls.crt".to_owned(), cert.cert_pem),
                ("tls.key".to_owned(), cert.key_pem),
                ("ca.crt".to_owned(), ca.cert_pem()),
            ]),
        ),
        ("chancery-tokens".to_owned(), tokens_secret),
    ])
}

/// Writes the Secret volumes of `service`'s container under `dir` as the kubelet would mount
/// them (every key, or only the volume's `items`, at their paths): `(mountPath, local dir)`.
fn mount_secrets(
    rendered: &Rendered,
    service: &str,
    secrets: &Secrets,
    dir: &std::path::Path,
) -> Vec<(String, String)> {
    let volumes = rendered.get("Deployment", service)["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .expect("volumes")
        .clone();
    let mut mounts = Vec::new();
    for mount in rendered.container(service)["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let volume = volumes
            .iter()
            .find(|v| v["name"] == mount["name"])
            .expect("the mount's volume");
        let Some(secret_name) = volume["secret"]["secretName"].as_str() else {
            continue;
        };
        let data = secrets
            .get(secret_name)
            .unwrap_or_else(|| panic!("{service}: the test has no Secret {secret_name}"));
        let local = dir.join(format!(
            "{service}-{}",
            mount["name"].as_str().expect("name")
        ));
        std::fs::create_dir_all(&local).expect("a mount directory");
        let files: Vec<(String, String)> = match volume["secret"]["items"].as_array() {
            Some(items) => items
                .iter()
                .map(|item| {
                    let key = item["key"].as_str().expect("key");
                    (
                        item["path"].as_str().expect("path").to_owned(),
                        key.to_owned(),
                    )
                })
                .collect(),
            None => data.keys().map(|k| (k.clone(), k.clone())).collect(),
        };
        for (path, key) in files {
            let value = data
                .get(&key)
                .unwrap_or_else(|| panic!("{service}: Secret {secret_name} has no key {key}"));
            std::fs::write(local.join(path), value).expect("write a Secret file");
        }
        mounts.push((
            mount["mountPath"].as_str().expect("mountPath").to_owned(),
            local.display().to_string(),
        ));
    }
    mounts
}

/// One service of the cluster before it starts: where it will listen, and its environment.
struct Planned {
    name: &'static str,
    binary: &'static str,
    grpc_service: &'static str,
    addr: SocketAddr,
    metrics: SocketAddr,
    health: SocketAddr,
    environment: BTreeMap<String, String>,
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// The binary that runs a Deployment.
fn binary(service: &str) -> &'static str {
    match service {
        "gateway" => "chancery-gateway",
        "actors" => "chancery-actors",
        "communications" => "chancery-communications",
        "statements" => "chancery-statements",
        other => panic!("no binary for {other}"),
    }
}

/// The Secret values a Deployment's `secretKeyRef`s name: `(variable, value)`, checking that the
/// only one is the service's own database URL Secret.
fn secret_variables(
    rendered: &Rendered,
    service: &str,
    database: &TestDatabase,
) -> BTreeMap<String, String> {
    let mut variables = BTreeMap::new();
    for variable in rendered.container(service)["env"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let reference = &variable["valueFrom"]["secretKeyRef"];
        if reference.is_null() {
            continue;
        }
        assert_eq!(
            *reference,
            serde_json::json!({ "name": format!("{service}-database"), "key": SECRET_KEY }),
            "{service}: the only Secret is the database URL"
        );
        let name = variable["name"].as_str().expect("env name").to_owned();
        assert_eq!(name, "CHANCERY_DATABASE_URL", "{service}: {variable}");
        // What an operator puts in the Secret: the service's own schema of one database.
        let url = database.url(service);
        assert!(url.ends_with(&format!("?schema={service}")), "{url}");
        variables.insert(name, url);
    }
    variables
}

/// Replaces `http(s)://<service>:<port>` by the loopback address that service listens on; any
/// other value is returned as it is. Naming a service on a port other than its Service's is a
/// failure (the address would not work in the cluster either).
fn to_loopback(value: &str, addrs: &BTreeMap<&str, SocketAddr>) -> String {
    let Some((scheme, authority)) = value.split_once("://") else {
        return value.to_owned();
    };
    if scheme != "http" && scheme != "https" {
        return value.to_owned();
    }
    let Some((host, port)) = authority.split_once(':') else {
        return value.to_owned();
    };
    let Some(service) = SERVICES.iter().find(|s| s.name == host) else {
        return value.to_owned();
    };
    assert_eq!(
        port,
        service.port.to_string(),
        "{value}: the port of the Service {host}"
    );
    format!("{scheme}://{}", addrs[host])
}

/// Plans every service: free loopback ports and the rendered environment, rewritten.
fn plan(
    rendered: &Rendered,
    database: &TestDatabase,
    secret_files: &Secrets,
    mounts_dir: &std::path::Path,
) -> Vec<Planned> {
    let addrs: BTreeMap<&str, SocketAddr> = SERVICES
        .iter()
        .map(|s| (s.name, loopback(free_port())))
        .collect();
    SERVICES
        .iter()
        .map(|service| {
            let name = service.name;
            let secrets = secret_variables(rendered, name, database);
            let mut environment = BTreeMap::new();
            for (variable, value) in rendered.environment(name) {
                let value = match value {
                    Some(value) => value,
                    None => secrets
                        .get(&variable)
                        .unwrap_or_else(|| panic!("{name}: {variable} has no value"))
                        .clone(),
                };
                environment.insert(variable, value);
            }
            let metrics = loopback(free_port());
            let health = loopback(free_port());
            for (variable, addr) in [
                ("CHANCERY_LISTEN", addrs[name]),
                ("CHANCERY_METRICS_LISTEN", metrics),
                ("CHANCERY_HEALTH_LISTEN", health),
            ] {
                let value = environment
                    .get_mut(variable)
                    .unwrap_or_else(|| panic!("{name}: the overlay sets {variable}"));
                *value = addr.to_string();
            }
            let mounts = mount_secrets(rendered, name, secret_files, mounts_dir);
            for value in environment.values_mut() {
                *value = to_loopback(value, &addrs);
                for (mount_path, local) in &mounts {
                    if let Some(file) = value.strip_prefix(&format!("{mount_path}/")) {
                        *value = format!("{local}/{file}");
                    }
                }
            }
            let value = environment
                .get_mut("RUST_LOG")
                .unwrap_or_else(|| panic!("{name}: the overlay sets RUST_LOG"));
            *value = "warn".to_owned();

            // Nothing added, nothing left out: the rendered variables and no other.
            let rendered_names: BTreeSet<String> = rendered.environment(name).into_keys().collect();
            let passed: BTreeSet<String> = environment.keys().cloned().collect();
            assert_eq!(
                passed, rendered_names,
                "{name}: exactly the rendered variables"
            );
            assert!(
                !environment.values().any(|v| SERVICES
                    .iter()
                    .any(|s| v.contains(&format!("//{}:", s.name)))),
                "{name}: every in-cluster address is rewritten: {environment:?}"
            );
            Planned {
                name,
                binary: binary(name),
                grpc_service: service.grpc_service,
                addr: addrs[name],
                metrics,
                health,
                environment,
            }
        })
        .collect()
}

/// The body of `GET /metrics`, retried for a few seconds while the server starts.
async fn scrape(addr: SocketAddr) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match try_scrape(addr).await {
            Ok(response) => {
                let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
                let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
                assert!(status.contains(" 200 "), "GET /metrics on {addr}: {status}");
                assert!(
                    headers.to_lowercase().contains("content-type: text/plain"),
                    "Prometheus text format: {headers}"
                );
                return body.to_owned();
            }
            Err(error) => {
                assert!(Instant::now() < deadline, "GET /metrics on {addr}: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn try_scrape(addr: SocketAddr) -> std::io::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: metrics\r\nConnection: close\r\n\r\n")
        .await?;
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut response))
        .await
        .map_err(|_| std::io::Error::other("no answer within 5s"))??;
    Ok(response)
}

/// The output of a command that must fail (exit status neither 0 nor a crash).
fn refused_output(output: &std::process::Output) -> String {
    assert!(
        matches!(output.status.code(), Some(code) if code != 0),
        "not a clean failure: {output:?}"
    );
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The value of the sample `series` (`name{labels}`) in a scrape.
fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .filter_map(|line| line.rsplit_once(' '))
        .find(|(name, _)| *name == series)
        .map(|(_, value)| value.parse().expect("a number"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_overlay_runs_as_processes_on_postgresql() {
    let Some(kubectl) = kubectl() else {
        return;
    };
    if !postgres_available("cluster::production_overlay_runs_as_processes_on_postgresql") {
        return;
    }
    let rendered = Rendered::of(&kubectl, "production");
    assert_eq!(
        rendered.all("Deployment").len(),
        SERVICES.len(),
        "one Deployment per service"
    );
    // Declared first so that it is dropped last, once every process is gone.
    let database = TestDatabase::create(Backend::Postgres).await;
    let logs = TempDir::new("cluster").expect("a temporary directory");

    let ca = TestCa::new("chancery cluster test CA");
    let secrets = secrets(&ca);
    let planned = plan(&rendered, &database, &secrets, logs.path());
    // TLS, mutual TLS and tokens are on in every service.
    for planned in &planned {
        for variable in [
            "CHANCERY_TLS_CERT",
            "CHANCERY_TLS_KEY",
            "CHANCERY_TLS_CLIENT_CA",
            "CHANCERY_TOKENS_FILE",
        ] {
            let path = &planned.environment[variable];
            assert!(
                std::path::Path::new(path).is_file(),
                "{}: {variable}={path} is a mounted file",
                planned.name
            );
        }
    }
    let mut processes: Vec<(Service, &Planned)> = planned
        .iter()
        .map(|p| {
            let environment: Vec<(String, String)> = p
                .environment
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            // Watched through the health port, as the kubelet's probes watch the pod.
            (
                Service::spawn(p.binary, p.health, logs.path(), &environment),
                p,
            )
        })
        .collect();
    // Ready as the readiness probes ask: health of the service's own gRPC name.
    for (process, planned) in &mut processes {
        process.wait_serving_as(planned.grpc_service).await;
    }
    let gateway = processes
        .iter()
        .find(|(_, p)| p.name == "gateway")
        .expect("a gateway")
        .1;
    let gateway_uri = format!("https://{}", gateway.addr);
    let client_cert = ca.issue("alice");
    let client_files = logs.path().join("client");
    std::fs::create_dir(&client_files).expect("a directory");
    let (cert_file, key_file) = client_cert.write_to(&client_files);
    let ca_file = client_files.join("ca.crt");
    std::fs::write(&ca_file, ca.cert_pem()).expect("write ca.crt");
    let token_file = client_files.join("token");
    std::fs::write(&token_file, ALICE).expect("write the token");
    let (cert_file, key_file, ca_file, token_file) = (
        cert_file.display().to_string(),
        key_file.display().to_string(),
        ca_file.display().to_string(),
        token_file.display().to_string(),
    );
    let at = [
        "--gateway",
        gateway_uri.as_str(),
        "--ca-file",
        ca_file.as_str(),
        "--cert-file",
        cert_file.as_str(),
        "--key-file",
        key_file.as_str(),
        "--token-file",
        token_file.as_str(),
    ];

    // The gRPC port speaks TLS only, and asks for a client certificate.
    let plaintext = tonic::transport::Endpoint::from_shared(format!("http://{}", gateway.addr))
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(2))
        .connect_lazy();
    let refused = tonic_health::pb::health_client::HealthClient::new(plaintext)
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await;
    assert!(refused.is_err(), "plaintext on the gRPC port: {refused:?}");
    let no_certificate = refused_output(&chancery(
        &[
            &["view", seed::EPISODE, "--gateway", gateway_uri.as_str()][..],
            &[
                "--ca-file",
                ca_file.as_str(),
                "--token-file",
                token_file.as_str(),
            ],
        ]
        .concat(),
    ));
    // Refused at the handshake (TLS 1.3: on the first request); nothing is shown.
    assert!(
        !no_certificate.contains("Timeline"),
        "served without a client certificate: {no_certificate}"
    );

    let imported = succeeded(
        "chancery import",
        &chancery(&[&["import", seed::BUNDLE_PATH][..], &at].concat()),
    );
    assert!(
        imported.starts_with(&format!(
            "imported {}: 52 created, 0 unchanged, 0 updated",
            seed::EPISODE
        )),
        "{imported}"
    );

    let view = succeeded(
        "chancery view",
        &chancery(&[&["view", seed::EPISODE][..], &at].concat()),
    );
    assert!(!view.contains("WARNING"), "{view}");
    assert!(view.contains("Timeline (15 entries)"), "{view}");
    assert!(
        view.contains("Putin accused Kyiv of using civilians as human shields."),
        "{view}"
    );

    let channel = connect_tls(gateway.addr, client_tls(&ca, Some(&client_cert)))
        .await
        .expect("connect to the gateway over mutual TLS");
    let mut client = EpisodeServiceClient::new(with_token(channel, Some(ALICE)));
    let episode_view = client
        .get_episode_view(GetEpisodeViewRequest {
            name: seed::EPISODE.to_owned(),
            ..Default::default()
        })
        .await
        .expect("GetEpisodeView")
        .into_inner();
    assert_eq!(episode_view.timeline.len(), 15, "timeline entries");
    assert!(
        episode_view.unreachable.is_empty(),
        "unreachable: {:?}",
        episode_view.unreachable
    );

    for (_, planned) in &processes {
        let body = scrape(planned.metrics).await;
        assert!(
            body.contains("# TYPE chancery_rpc_requests_total counter\n"),
            "{}: Prometheus text with the request counter:\n{body}",
            planned.name
        );
        if planned.name == "gateway" {
            let series = "chancery_rpc_requests_total{service=\"gateway\",\
                          method=\"GetEpisodeView\",code=\"OK\"}";
            let count = sample(&body, series)
                .unwrap_or_else(|| panic!("{series} in the gateway's metrics:\n{body}"));
            assert!(count >= 2.0, "the CLI's view and the client's: {count}");
        }
    }
}
