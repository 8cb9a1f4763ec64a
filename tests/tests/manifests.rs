//! The Kubernetes manifests under `deploy/k8s`, rendered as `kubectl apply -k` would render them
//! (`kubectl kustomize`, then `kubectl patch --local -o json` to turn the YAML into JSON, both
//! offline), and walked object by object: probes, security contexts, resources, service links,
//! token automount, replicas (none where an autoscaler scales), PodDisruptionBudgets, the
//! environment each binary reads, the NetworkPolicy graph (which pods may reach which ports), and
//! the optional ServiceMonitors (overlay `production-monitored`).
//!
//! `deploy/check.sh` checks the same manifests with kubernetes-validate and Checkov; this file
//! checks what those tools cannot know: that the manifests match the binaries.
//!
//! kubectl comes from `KUBECTL` or the `PATH`. Without it the tests are skipped, except when `CI`
//! is set, where a missing kubectl is a failure.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chancery_suite::Service;
use serde_json::Value;

mod support;

use support::kube::{Rendered, SERVICES, kubectl, repo};

const NAMESPACE: &str = "chancery";
const METRICS_PORT: u16 = 9090;
/// The plaintext health-only port (`CHANCERY_HEALTH_LISTEN`) every pod's probes ask.
const HEALTH_PORT: u16 = 8081;
const NAME_LABEL: &str = "app.kubernetes.io/name";

/// Who may call whom over gRPC, besides clients calling the gateway. It must also be exactly the
/// set of backend addresses each service's ConfigMap gives it (checked below).
const CALLS: [(&str, &str); 6] = [
    ("gateway", "actors"),
    ("gateway", "communications"),
    ("gateway", "statements"),
    ("communications", "actors"),
    ("statements", "actors"),
    ("statements", "communications"),
];

/// Read by every binary besides what `Env::parse_or` reads: `RUST_LOG` (the log filter, read by
/// `telemetry.rs`).
const READ_OUTSIDE_CONFIG_RS: [&str; 1] = ["RUST_LOG"];

fn text(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
}

/// `CHANCERY_*` constants of `crates/runtime/src/config.rs`: constant name → variable name.
fn config_constants() -> BTreeMap<String, String> {
    let source = std::fs::read_to_string(repo().join("crates/runtime/src/config.rs"))
        .expect("read crates/runtime/src/config.rs");
    let mut constants = BTreeMap::new();
    for line in source.lines() {
        let Some(rest) = line.trim().strip_prefix("pub const ") else {
            continue;
        };
        let Some((constant, value)) = rest.split_once(": &str = \"") else {
            continue;
        };
        let variable = value.trim_end_matches("\";");
        if variable.starts_with("CHANCERY_") {
            constants.insert(constant.to_owned(), variable.to_owned());
        }
    }
    assert!(
        constants.values().any(|v| v == "CHANCERY_LISTEN"),
        "config.rs defines CHANCERY_LISTEN: {constants:?}"
    );
    constants
}

/// The non-test part of a source file.
fn source_without_tests(path: &str) -> String {
    let source =
        std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    match source.find("#[cfg(test)]") {
        Some(tests) => source[..tests].to_owned(),
        None => source,
    }
}

/// The last path segment of the identifier `text` starts with, such as `ACTORS_ADDR` for
/// `config::ACTORS_ADDR, …`.
fn leading_identifier(text: &str) -> &str {
    let text = text.trim_start();
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(text.len());
    text[..end].rsplit("::").next().unwrap_or("")
}

/// The variables `chancery-<service>` reads, derived from the source: the `config.rs` constants
/// that `crates/runtime/src` passes to `Env::parse_or` (the server, database and log settings
/// every service reads through `Env::service`), the backend addresses
/// the composition root reads for it (`chancery_suite::Service::backend_variables`), and
/// [`READ_OUTSIDE_CONFIG_RS`].
fn variables_read_by(service: &str) -> BTreeSet<String> {
    let constants = config_constants();
    let mut variables: BTreeSet<String> = READ_OUTSIDE_CONFIG_RS
        .iter()
        .map(|v| (*v).to_owned())
        .collect();
    let runtime = std::fs::read_dir(repo().join("crates/runtime/src"))
        .expect("list crates/runtime/src")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .map(|path| {
            source_without_tests(&format!(
                "crates/runtime/src/{}",
                path.file_name().expect("file name").to_string_lossy()
            ))
        })
        .collect::<Vec<_>>()
        .join("\n");
    for read in runtime.split("parse_or(").skip(1) {
        if let Some(variable) = constants.get(leading_identifier(read)) {
            variables.insert(variable.clone());
        }
    }
    if service != "gateway" {
        for variable in read_by_grpc_web(&constants) {
            variables.remove(&variable);
        }
    }
    let own = Service::ALL
        .into_iter()
        .find(|s| s.name() == service)
        .unwrap_or_else(|| panic!("{service} is a service of the suite"));
    variables.extend(own.backend_variables().into_iter().map(str::to_owned));
    variables
}

/// The variables `Env::grpc_web` (`crates/runtime/src/config.rs`) parses: only the gateway
/// reads them, as the composition root calls it for the gateway alone (checked here).
fn read_by_grpc_web(constants: &BTreeMap<String, String>) -> BTreeSet<String> {
    let root = source_without_tests("services/suite/src/service.rs");
    let call = root
        .find("env.grpc_web()")
        .expect("the composition root reads the gRPC-Web settings");
    let before: String = root[..call].chars().rev().take(80).collect();
    let before: String = before.chars().rev().collect();
    assert!(
        before.contains("(self == Service::Gateway)"),
        "the composition root reads the gRPC-Web settings for the gateway only: {before}"
    );
    assert_eq!(
        root.matches("grpc_web()").count(),
        1,
        "one call of Env::grpc_web"
    );
    let config = source_without_tests("crates/runtime/src/config.rs");
    let start = config
        .find("pub fn grpc_web(")
        .expect("config.rs defines Env::grpc_web");
    let body = &config[start..];
    let body = &body[..body.find("\n    }\n").expect("the end of Env::grpc_web")];
    body.split("parse_or(")
        .skip(1)
        .filter_map(|read| constants.get(leading_identifier(read)).cloned())
        .collect()
}

fn parse_duration(value: &str) -> Duration {
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (digits, unit) = value.split_at(split);
    let amount: u64 = digits.parse().expect("a duration's number");
    match unit {
        "ms" => Duration::from_millis(amount),
        "s" | "" => Duration::from_secs(amount),
        "m" => Duration::from_secs(amount * 60),
        other => panic!("unknown duration unit {other:?} in {value:?}"),
    }
}

/// Everything every overlay must get right about each service.
fn check_common(rendered: &Rendered, overlay: &str) {
    assert_eq!(
        rendered.all("Deployment").len(),
        SERVICES.len(),
        "{overlay}: one Deployment per service"
    );
    for object in &rendered.objects {
        if object["kind"] != "Namespace" {
            assert_eq!(
                object["metadata"]["namespace"], NAMESPACE,
                "{overlay}: {} {} in namespace {NAMESPACE}",
                object["kind"], object["metadata"]["name"]
            );
        }
    }
    assert!(
        rendered.all("Secret").is_empty(),
        "{overlay}: no Secret (and no secret value) is committed"
    );
    // A Deployment an autoscaler scales has no `replicas`: each `kubectl apply -k` would reset
    // the scale the autoscaler chose.
    for autoscaler in rendered.all("HorizontalPodAutoscaler") {
        let target = &autoscaler["spec"]["scaleTargetRef"];
        assert_eq!(target["kind"], "Deployment", "{overlay}: {target}");
        let deployment = rendered.get("Deployment", text(&target["name"]));
        assert!(
            deployment["spec"].get("replicas").is_none(),
            "{overlay}/{}: replicas {} in a Deployment its HorizontalPodAutoscaler scales",
            text(&target["name"]),
            deployment["spec"]["replicas"]
        );
    }

    for service in &SERVICES {
        let name = service.name;
        let context = format!("{overlay}/{name}");
        let deployment = rendered.get("Deployment", name);
        let template = &deployment["spec"]["template"];
        let pod = &template["spec"];
        let labels = &template["metadata"]["labels"];
        assert_eq!(labels[NAME_LABEL], name, "{context}: pod label");
        assert_eq!(
            deployment["spec"]["selector"]["matchLabels"][NAME_LABEL], name,
            "{context}: selector"
        );

        // Pod: no API token, no service links, restricted security, time to drain.
        assert_eq!(
            pod["serviceAccountName"], name,
            "{context}: own ServiceAccount"
        );
        assert_eq!(
            rendered.get("ServiceAccount", name)["automountServiceAccountToken"],
            false,
            "{context}: ServiceAccount automount"
        );
        assert_eq!(
            pod["automountServiceAccountToken"], false,
            "{context}: pod automount"
        );
        assert_eq!(pod["enableServiceLinks"], false, "{context}: service links");
        let pod_security = &pod["securityContext"];
        assert_eq!(pod_security["runAsNonRoot"], true, "{context}");
        assert!(
            pod_security["runAsUser"].as_u64().unwrap_or(0) >= 10_000,
            "{context}: pod runAsUser ≥ 10000"
        );
        assert_eq!(
            pod_security["seccompProfile"]["type"], "RuntimeDefault",
            "{context}"
        );
        for field in ["hostNetwork", "hostPID", "hostIPC"] {
            assert!(
                pod[field].is_null() || pod[field] == false,
                "{context}: {field}"
            );
        }

        // Container: the right binary, ports, probes, security context, resources.
        let container = rendered.container(name);
        assert_eq!(
            container["command"],
            serde_json::json!([format!("/usr/local/bin/chancery-{name}")]),
            "{context}: command"
        );
        let ports: BTreeMap<&str, u64> = container["ports"]
            .as_array()
            .expect("ports")
            .iter()
            .map(|p| (text(&p["name"]), p["containerPort"].as_u64().expect("port")))
            .collect();
        assert_eq!(
            ports,
            BTreeMap::from([
                ("grpc", u64::from(service.port)),
                ("metrics", u64::from(METRICS_PORT)),
                ("health", u64::from(HEALTH_PORT))
            ]),
            "{context}: container ports"
        );
        // Probes ask the plaintext health port: kubelet gRPC probes cannot speak TLS.
        let readiness = &container["readinessProbe"]["grpc"];
        assert_eq!(readiness["port"], HEALTH_PORT, "{context}: readiness port");
        assert_eq!(
            readiness["service"], service.grpc_service,
            "{context}: readiness asks for the service's own name"
        );
        for probe in ["livenessProbe", "startupProbe"] {
            let grpc = &container[probe]["grpc"];
            assert_eq!(grpc["port"], HEALTH_PORT, "{context}: {probe} port");
            assert!(
                grpc["service"].is_null() || grpc["service"] == "",
                "{context}: {probe} asks for the overall status \"\""
            );
        }
        let security = &container["securityContext"];
        assert_eq!(security["allowPrivilegeEscalation"], false, "{context}");
        assert_eq!(security["readOnlyRootFilesystem"], true, "{context}");
        assert_eq!(security["runAsNonRoot"], true, "{context}");
        assert!(
            security["privileged"].is_null() || security["privileged"] == false,
            "{context}: privileged"
        );
        assert_eq!(
            security["capabilities"]["drop"],
            serde_json::json!(["ALL"]),
            "{context}: drop ALL"
        );
        assert!(
            security["capabilities"]["add"].is_null(),
            "{context}: adds no capability"
        );
        assert!(
            security["runAsUser"].is_null() || security["runAsUser"].as_u64() >= Some(10_000),
            "{context}: container runAsUser ≥ 10000"
        );
        for bound in ["requests", "limits"] {
            for resource in ["cpu", "memory"] {
                assert!(
                    container["resources"][bound][resource].is_string(),
                    "{context}: resources.{bound}.{resource}"
                );
            }
        }
        let tmp = container["volumeMounts"]
            .as_array()
            .expect("volumeMounts")
            .iter()
            .find(|m| m["mountPath"] == "/tmp")
            .unwrap_or_else(|| panic!("{context}: /tmp is writable"));
        let tmp_volume = pod["volumes"]
            .as_array()
            .expect("volumes")
            .iter()
            .find(|v| v["name"] == tmp["name"])
            .expect("the /tmp volume");
        assert!(
            tmp_volume["emptyDir"].is_object(),
            "{context}: /tmp emptyDir"
        );

        // Metrics: scraped where the container serves them.
        let annotations = &template["metadata"]["annotations"];
        assert_eq!(annotations["prometheus.io/scrape"], "true", "{context}");
        assert_eq!(
            annotations["prometheus.io/port"],
            METRICS_PORT.to_string(),
            "{context}"
        );
        assert_eq!(annotations["prometheus.io/path"], "/metrics", "{context}");

        // Service: the name the other services dial, ports named grpc and metrics.
        let k8s_service = rendered.get("Service", name);
        assert_eq!(
            k8s_service["spec"]["selector"],
            serde_json::json!({ NAME_LABEL: name }),
            "{context}: Service selector"
        );
        let service_ports: BTreeMap<&str, (u64, &str)> = k8s_service["spec"]["ports"]
            .as_array()
            .expect("Service ports")
            .iter()
            .map(|p| {
                (
                    text(&p["name"]),
                    (p["port"].as_u64().expect("port"), text(&p["targetPort"])),
                )
            })
            .collect();
        assert_eq!(
            service_ports,
            BTreeMap::from([
                ("grpc", (u64::from(service.port), "grpc")),
                ("metrics", (u64::from(METRICS_PORT), "metrics"))
            ]),
            "{context}: Service ports"
        );

        // Environment: exactly the variables the binary reads, with the values it needs.
        let environment = rendered.environment(name);
        let names: BTreeSet<String> = environment.keys().cloned().collect();
        let read = variables_read_by(name);
        assert!(
            names == read,
            "{context}: the environment must be exactly what chancery-{name} reads; \
             missing {:?}, not read by the binary {:?}",
            read.difference(&names).collect::<Vec<_>>(),
            names.difference(&read).collect::<Vec<_>>()
        );
        let value = |variable: &str| {
            environment[variable]
                .clone()
                .unwrap_or_else(|| panic!("{context}: {variable} has a literal value"))
        };
        assert_eq!(
            value("CHANCERY_LISTEN"),
            format!("0.0.0.0:{}", service.port)
        );
        assert_eq!(value("CHANCERY_LOG_FORMAT"), "json", "{context}");
        assert_eq!(
            value("CHANCERY_METRICS_LISTEN"),
            format!("0.0.0.0:{METRICS_PORT}"),
            "{context}"
        );
        assert_eq!(
            value("CHANCERY_HEALTH_LISTEN"),
            format!("0.0.0.0:{HEALTH_PORT}"),
            "{context}"
        );
        // Production speaks TLS between the services; dev stays plaintext.
        let scheme = if overlay.starts_with("production") {
            "https"
        } else {
            "http"
        };
        let backends: BTreeSet<&str> = CALLS
            .iter()
            .filter(|(from, _)| *from == name)
            .map(|(_, to)| *to)
            .collect();
        for backend in &SERVICES {
            let variable = format!("CHANCERY_{}_ADDR", backend.name.to_uppercase());
            if backends.contains(backend.name) {
                assert_eq!(
                    value(&variable),
                    format!("{scheme}://{}:{}", backend.name, backend.port),
                    "{context}"
                );
            } else {
                assert!(
                    !environment.contains_key(&variable),
                    "{context}: {variable} is set but {name} does not call {}",
                    backend.name
                );
            }
        }
        let grace = Duration::from_secs(
            pod["terminationGracePeriodSeconds"]
                .as_u64()
                .expect("terminationGracePeriodSeconds"),
        );
        let drain = parse_duration(&value("CHANCERY_SHUTDOWN_DELAY"))
            + parse_duration(&value("CHANCERY_DRAIN_TIMEOUT"));
        assert!(
            grace > drain,
            "{context}: terminationGracePeriodSeconds ({grace:?}) must exceed \
             CHANCERY_SHUTDOWN_DELAY + CHANCERY_DRAIN_TIMEOUT ({drain:?})"
        );
    }

    check_network_policies(rendered, overlay);
}

// ---- NetworkPolicy evaluation -----------------------------------------------------------------

/// A traffic endpoint: a pod (namespace, labels, named ports) or an address outside the cluster
/// (PostgreSQL, DNS, the internet).
struct Endpoint {
    namespace: Option<(String, BTreeMap<String, String>)>,
    labels: BTreeMap<String, String>,
    named_ports: BTreeMap<String, u64>,
}

impl Endpoint {
    fn outside() -> Self {
        Endpoint {
            namespace: None,
            labels: BTreeMap::new(),
            named_ports: BTreeMap::new(),
        }
    }

    fn pod(namespace: &str, labels: &[(&str, &str)]) -> Self {
        Endpoint {
            namespace: Some((
                namespace.to_owned(),
                BTreeMap::from([(
                    "kubernetes.io/metadata.name".to_owned(),
                    namespace.to_owned(),
                )]),
            )),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            named_ports: BTreeMap::new(),
        }
    }
}

/// `matchLabels` / `matchExpressions` (the subset the manifests may use) against labels.
fn selects(selector: &Value, labels: &BTreeMap<String, String>) -> bool {
    if selector.is_null() {
        return false;
    }
    let labels_match = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(k, v)| labels.get(k).map(String::as_str) == v.as_str());
    let expressions_match = selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|e| {
            let value = labels.get(text(&e["key"]));
            let values: Vec<&str> = e["values"]
                .as_array()
                .into_iter()
                .flatten()
                .map(text)
                .collect();
            match text(&e["operator"]) {
                "In" => value.is_some_and(|v| values.contains(&v.as_str())),
                "NotIn" => value.is_none_or(|v| !values.contains(&v.as_str())),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                other => panic!("unknown selector operator {other}"),
            }
        });
    labels_match && expressions_match
}

/// Whether a `from`/`to` peer of a policy in `policy_namespace` covers `peer`.
fn peer_matches(rule_peer: &Value, policy_namespace: &str, peer: &Endpoint) -> bool {
    if let Some(block) = rule_peer.get("ipBlock") {
        assert!(
            block["cidr"] == "0.0.0.0/0" && block["except"].is_null(),
            "the evaluator knows only ipBlock 0.0.0.0/0 (got {block})"
        );
        return true;
    }
    let Some((namespace, namespace_labels)) = &peer.namespace else {
        return false; // pod and namespace selectors never select addresses outside the cluster
    };
    let namespace_ok = match rule_peer.get("namespaceSelector") {
        Some(selector) => {
            selector.as_object().is_some_and(|s| s.is_empty())
                || selects(selector, namespace_labels)
        }
        None => namespace == policy_namespace,
    };
    let pod_ok = match rule_peer.get("podSelector") {
        Some(selector) => {
            selector.as_object().is_some_and(|s| s.is_empty()) || selects(selector, &peer.labels)
        }
        None => true,
    };
    namespace_ok && pod_ok
}

fn port_matches(rule_ports: &Value, target: &Endpoint, port: u64, protocol: &str) -> bool {
    let Some(ports) = rule_ports.as_array() else {
        return true; // no ports: every port
    };
    ports.iter().any(|p| {
        let rule_protocol = p["protocol"].as_str().unwrap_or("TCP");
        let rule_port = match &p["port"] {
            Value::Null => None,
            Value::Number(n) => n.as_u64(),
            Value::String(name) => Some(*target.named_ports.get(name).unwrap_or(&0)),
            other => panic!("bad port {other}"),
        };
        rule_protocol == protocol && rule_port.is_none_or(|p| p == port)
    })
}

/// Whether the policies of `namespace` let `source` open `port`/`protocol` on `target`.
fn allowed(
    policies: &[&Value],
    namespace: &str,
    source: &Endpoint,
    target: &Endpoint,
    port: u64,
    protocol: &str,
) -> bool {
    let in_namespace = |e: &Endpoint| e.namespace.as_ref().is_some_and(|(n, _)| n == namespace);
    let side_allows = |pod: &Endpoint, direction: &str, rules_key: &str, peer_key: &str| {
        let other = if rules_key == "ingress" {
            source
        } else {
            target
        };
        let governing: Vec<&&Value> = policies
            .iter()
            .filter(|p| selects_pod(&p["spec"]["podSelector"], &pod.labels))
            .filter(|p| {
                p["spec"]["policyTypes"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|t| t == direction))
            })
            .collect();
        if governing.is_empty() {
            return true; // not isolated in this direction
        }
        governing.iter().any(|policy| {
            policy["spec"][rules_key]
                .as_array()
                .into_iter()
                .flatten()
                .any(|rule| {
                    let peers_ok = match rule[peer_key].as_array() {
                        None => true,
                        Some(peers) => peers.iter().any(|p| peer_matches(p, namespace, other)),
                    };
                    peers_ok && port_matches(&rule["ports"], target, port, protocol)
                })
        })
    };
    let egress_ok = !in_namespace(source) || side_allows(source, "Egress", "egress", "to");
    let ingress_ok = !in_namespace(target) || side_allows(target, "Ingress", "ingress", "from");
    egress_ok && ingress_ok
}

/// An empty `podSelector` selects every pod of the namespace.
fn selects_pod(selector: &Value, labels: &BTreeMap<String, String>) -> bool {
    selector.as_object().is_some_and(|s| s.is_empty()) || selects(selector, labels)
}

fn check_network_policies(rendered: &Rendered, overlay: &str) {
    let policies = rendered.all("NetworkPolicy");
    assert!(
        policies.iter().any(|p| {
            p["spec"]["podSelector"]
                .as_object()
                .is_some_and(|s| s.is_empty())
                && p["spec"]["policyTypes"] == serde_json::json!(["Ingress", "Egress"])
                && p["spec"]["ingress"].is_null()
                && p["spec"]["egress"].is_null()
        }),
        "{overlay}: a default-deny policy for ingress and egress"
    );

    let pods: Vec<(&str, Endpoint)> = SERVICES
        .iter()
        .map(|service| {
            let template = &rendered.get("Deployment", service.name)["spec"]["template"];
            let mut endpoint = Endpoint::pod(NAMESPACE, &[]);
            endpoint.labels = template["metadata"]["labels"]
                .as_object()
                .expect("pod labels")
                .iter()
                .map(|(k, v)| (k.clone(), text(v).to_owned()))
                .collect();
            endpoint.named_ports = rendered.container(service.name)["ports"]
                .as_array()
                .expect("ports")
                .iter()
                .map(|p| {
                    (
                        text(&p["name"]).to_owned(),
                        p["containerPort"].as_u64().unwrap(),
                    )
                })
                .collect();
            (service.name, endpoint)
        })
        .collect();
    let client = Endpoint::pod("clients", &[("app", "web")]);
    let prometheus = Endpoint::pod("monitoring", &[("app", "prometheus")]);
    let other_pod = Endpoint::pod(NAMESPACE, &[("app", "intruder")]);
    let postgresql = Endpoint::outside();
    let dns = Endpoint::outside();
    let internet = Endpoint::outside();
    let can = |source: &Endpoint, target: &Endpoint, port: u64, protocol: &str| {
        allowed(&policies, NAMESPACE, source, target, port, protocol)
    };

    for (target_name, target) in &pods {
        let port = u64::from(
            SERVICES
                .iter()
                .find(|s| s.name == *target_name)
                .expect("service")
                .port,
        );
        // gRPC: clients reach the gateway only; services reach exactly the services they call.
        assert_eq!(
            can(&client, target, port, "TCP"),
            *target_name == "gateway",
            "{overlay}: a client outside the namespace → {target_name}:{port}"
        );
        assert!(
            !can(&other_pod, target, port, "TCP"),
            "{overlay}: a pod of the namespace that no policy lets out → {target_name}:{port}"
        );
        for (source_name, source) in &pods {
            if source_name == target_name {
                continue;
            }
            let expected = CALLS.contains(&(source_name, target_name));
            assert_eq!(
                can(source, target, port, "TCP"),
                expected,
                "{overlay}: {source_name} → {target_name}:{port} should be {}",
                if expected { "allowed" } else { "denied" }
            );
            assert!(
                !can(source, target, u64::from(METRICS_PORT), "TCP"),
                "{overlay}: {source_name} → {target_name} metrics is denied"
            );
        }
        // Health port: no policy opens it; the kubelet's probes come from the pod's node,
        // which NetworkPolicies always allow.
        let health = u64::from(HEALTH_PORT);
        for (source_name, source) in [
            ("a client", &client),
            ("Prometheus", &prometheus),
            ("another pod", &other_pod),
        ]
        .into_iter()
        .chain(pods.iter().map(|(name, pod)| (*name, pod)))
        {
            assert!(
                !can(source, target, health, "TCP"),
                "{overlay}: {source_name} → {target_name} health port is denied"
            );
        }
        // Metrics: Prometheus (namespace monitoring) only.
        let metrics = u64::from(METRICS_PORT);
        assert!(
            can(&prometheus, target, metrics, "TCP"),
            "{overlay}: Prometheus scrapes {target_name}"
        );
        assert!(
            !can(&client, target, metrics, "TCP"),
            "{overlay}: clients cannot read {target_name}'s metrics"
        );
        assert!(
            !can(&prometheus, target, port, "TCP") || *target_name == "gateway",
            "{overlay}: Prometheus cannot call {target_name}'s API"
        );
        // Out of the pod: PostgreSQL and DNS, nothing else.
        let source = target;
        assert!(
            can(source, &postgresql, 5432, "TCP"),
            "{overlay}: {target_name} → PostgreSQL"
        );
        assert!(
            can(source, &dns, 53, "UDP") && can(source, &dns, 53, "TCP"),
            "{overlay}: {target_name} → DNS"
        );
        assert!(
            !can(source, &internet, 443, "TCP"),
            "{overlay}: {target_name} → the internet is denied"
        );
        assert!(
            !can(source, &client, 8080, "TCP"),
            "{overlay}: {target_name} → other namespaces is denied"
        );
    }
}

/// The Secret and key behind `path` in `service`'s container: the mount holding it (which
/// must be read-only) and the volume's Secret, through its `items` when it lists them.
fn mounted_secret_file(rendered: &Rendered, service: &str, path: &str) -> (String, String) {
    let context = format!("{service}: {path}");
    let mount = rendered.container(service)["volumeMounts"]
        .as_array()
        .expect("volumeMounts")
        .iter()
        .find(|m| path.starts_with(&format!("{}/", text(&m["mountPath"]))))
        .unwrap_or_else(|| panic!("{context} is on no mounted volume"));
    assert_eq!(mount["readOnly"], true, "{context}: the mount is read-only");
    let file = &path[text(&mount["mountPath"]).len() + 1..];
    let volume = rendered.get("Deployment", service)["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == mount["name"])
        .unwrap_or_else(|| panic!("{context}: the volume of the mount"));
    let secret = &volume["secret"];
    assert!(secret.is_object(), "{context}: a Secret volume: {volume}");
    let mode = secret["defaultMode"].as_u64().unwrap_or(0o644);
    assert_eq!(mode & 0o007, 0, "{context}: not world-readable ({mode:o})");
    let key = match secret["items"].as_array() {
        Some(items) => items
            .iter()
            .find(|item| item["path"] == file)
            .map(|item| text(&item["key"]).to_owned())
            .unwrap_or_else(|| panic!("{context}: no item of the Secret lands on {file}")),
        None => file.to_owned(),
    };
    (text(&secret["secretName"]).to_owned(), key)
}

// ---- the tests ----------------------------------------------------------------------------------

#[test]
fn calls_match_the_backend_addresses_the_services_read() {
    for service in &SERVICES {
        let reads: BTreeSet<String> = variables_read_by(service.name)
            .into_iter()
            .filter(|v| v.ends_with("_ADDR"))
            .collect();
        let calls: BTreeSet<String> = CALLS
            .iter()
            .filter(|(from, _)| *from == service.name)
            .map(|(_, to)| format!("CHANCERY_{}_ADDR", to.to_uppercase()))
            .collect();
        assert_eq!(reads, calls, "{}: CALLS is out of date", service.name);
    }
}

#[test]
fn dev_overlay_runs_one_replica_per_service_on_sqlite_volumes() {
    let Some(kubectl) = kubectl() else { return };
    let rendered = Rendered::of(&kubectl, "dev");
    check_common(&rendered, "dev");
    assert!(
        rendered.all("HorizontalPodAutoscaler").is_empty(),
        "dev: no autoscaling"
    );
    for service in &SERVICES {
        let name = service.name;
        let deployment = rendered.get("Deployment", name);
        assert_eq!(deployment["spec"]["replicas"], 1, "dev/{name}: one replica");
        assert_eq!(
            deployment["spec"]["strategy"]["type"], "Recreate",
            "dev/{name}: one SQLite writer at a time"
        );
        let url = rendered.environment(name)["CHANCERY_DATABASE_URL"]
            .clone()
            .expect("dev: the database URL is a literal");
        let path = url
            .strip_prefix("sqlite://")
            .unwrap_or_else(|| panic!("dev/{name}: SQLite URL, got {url}"));
        let mount = rendered.container(name)["volumeMounts"]
            .as_array()
            .expect("volumeMounts")
            .iter()
            .find(|m| path.starts_with(&format!("{}/", text(&m["mountPath"]))))
            .unwrap_or_else(|| panic!("dev/{name}: {path} is on a mounted volume"));
        let volume = deployment["spec"]["template"]["spec"]["volumes"]
            .as_array()
            .expect("volumes")
            .iter()
            .find(|v| v["name"] == mount["name"])
            .expect("the data volume");
        let claim = text(&volume["persistentVolumeClaim"]["claimName"]);
        assert_eq!(claim, format!("{name}-data"), "dev/{name}: its own claim");
        rendered.get("PersistentVolumeClaim", claim);
        // dev: plaintext and no access control (no certificates or tokens on a laptop
        // cluster; grpcurl -plaintext through port-forward works). Empty values are unset.
        let environment = rendered.environment(name);
        for variable in [
            "CHANCERY_TLS_CERT",
            "CHANCERY_TLS_KEY",
            "CHANCERY_TLS_CLIENT_CA",
            "CHANCERY_TLS_CA",
            "CHANCERY_TOKENS_FILE",
            "CHANCERY_SERVICE_TOKEN_FILE",
        ] {
            assert_eq!(
                environment[variable].as_deref(),
                Some(""),
                "dev/{name}: {variable} is empty"
            );
        }
    }
}

#[test]
fn production_overlay_runs_replicas_on_postgresql_from_secrets() {
    let Some(kubectl) = kubectl() else { return };
    let rendered = Rendered::of(&kubectl, "production");
    check_common(&rendered, "production");
    for service in &SERVICES {
        let name = service.name;
        let deployment = rendered.get("Deployment", name);
        assert!(
            deployment["spec"].get("replicas").is_none(),
            "production/{name}: the HorizontalPodAutoscaler alone sets the replicas"
        );
        let container = rendered.container(name);
        let image = text(&container["image"]);
        assert!(
            image.contains("@sha256:"),
            "production/{name}: the image is pinned by digest ({image})"
        );
        let database = container["env"]
            .as_array()
            .expect("env")
            .iter()
            .find(|v| v["name"] == "CHANCERY_DATABASE_URL")
            .unwrap_or_else(|| panic!("production/{name}: CHANCERY_DATABASE_URL"));
        assert_eq!(
            database["valueFrom"]["secretKeyRef"],
            serde_json::json!({ "name": format!("{name}-database"), "key": "database-url" }),
            "production/{name}: the database URL comes from the Secret {name}-database"
        );

        // TLS and mutual TLS from the Secret chancery-tls (cert-manager's keys), tokens from
        // chancery-tokens, both mounted read-only.
        let environment = rendered.environment(name);
        let value = |variable: &str| {
            environment[variable]
                .clone()
                .unwrap_or_else(|| panic!("production/{name}: {variable} has a literal value"))
        };
        for (variable, key) in [
            ("CHANCERY_TLS_CERT", "tls.crt"),
            ("CHANCERY_TLS_KEY", "tls.key"),
            ("CHANCERY_TLS_CLIENT_CA", "ca.crt"),
            ("CHANCERY_TLS_CA", "ca.crt"),
        ] {
            assert_eq!(
                mounted_secret_file(&rendered, name, &value(variable)),
                ("chancery-tls".to_owned(), key.to_owned()),
                "production/{name}: {variable}"
            );
        }
        assert_eq!(
            mounted_secret_file(&rendered, name, &value("CHANCERY_TOKENS_FILE")),
            ("chancery-tokens".to_owned(), "tokens".to_owned()),
            "production/{name}: CHANCERY_TOKENS_FILE"
        );
        let calls_others = CALLS.iter().any(|(from, _)| *from == name);
        let service_token = value("CHANCERY_SERVICE_TOKEN_FILE");
        if calls_others {
            assert_eq!(
                mounted_secret_file(&rendered, name, &service_token),
                ("chancery-tokens".to_owned(), name.to_owned()),
                "production/{name}: its own token, under its own key"
            );
        } else {
            assert_eq!(service_token, "", "production/{name}: calls no one");
        }
        assert_eq!(
            value("CHANCERY_OPEN_READS"),
            "false",
            "production/{name}: reads need a token"
        );
        for mount in container["volumeMounts"].as_array().expect("volumeMounts") {
            if mount["mountPath"] != "/tmp" {
                assert_eq!(
                    mount["readOnly"], true,
                    "production/{name}: {} is read-only",
                    mount["mountPath"]
                );
            }
        }

        let autoscaler = rendered.get("HorizontalPodAutoscaler", name);
        assert_eq!(
            autoscaler["spec"]["scaleTargetRef"],
            serde_json::json!({ "apiVersion": "apps/v1", "kind": "Deployment", "name": name }),
            "production/{name}: HPA target"
        );
        assert!(
            autoscaler["spec"]["minReplicas"].as_u64() >= Some(2),
            "production/{name}: HPA minReplicas ≥ 2"
        );
        assert!(
            autoscaler["spec"]["maxReplicas"].as_u64() > autoscaler["spec"]["minReplicas"].as_u64(),
            "production/{name}: HPA can scale"
        );

        let budgets: Vec<&Value> = rendered
            .all("PodDisruptionBudget")
            .into_iter()
            .filter(|b| {
                selects(
                    &b["spec"]["selector"],
                    &BTreeMap::from([(NAME_LABEL.to_owned(), name.to_owned())]),
                )
            })
            .collect();
        assert_eq!(
            budgets.len(),
            1,
            "production/{name}: one PodDisruptionBudget"
        );
        let budget = &budgets[0]["spec"];
        assert!(
            budget["maxUnavailable"] == 1 || budget["minAvailable"] == 1,
            "production/{name}: a disruption leaves a replica serving: {budget}"
        );
    }
}

#[test]
fn production_leaves_the_scale_to_its_autoscalers() {
    let Some(kubectl) = kubectl() else { return };
    let rendered = Rendered::of(&kubectl, "production");
    for deployment in rendered.all("Deployment") {
        let name = text(&deployment["metadata"]["name"]);
        assert_eq!(
            deployment["spec"].get("replicas"),
            None,
            "production/{name}: no replicas, or every apply would reset the autoscaler's scale"
        );
        // Without `replicas` a Deployment alone would run one pod: each has its autoscaler.
        let autoscalers: Vec<&Value> = rendered
            .all("HorizontalPodAutoscaler")
            .into_iter()
            .filter(|a| a["spec"]["scaleTargetRef"]["name"] == name)
            .collect();
        assert_eq!(autoscalers.len(), 1, "production/{name}: one autoscaler");
        assert!(
            autoscalers[0]["spec"]["minReplicas"].as_u64() >= Some(2),
            "production/{name}: the autoscaler keeps two replicas or more"
        );
    }
}

#[test]
fn the_servicemonitor_component_scrapes_each_service_metrics_port() {
    let Some(kubectl) = kubectl() else { return };
    let monitored = Rendered::of(&kubectl, "production-monitored");
    check_common(&monitored, "production-monitored");
    check_network_policies(&monitored, "production-monitored");

    // The overlay is production plus the ServiceMonitors, nothing else changed.
    let production = Rendered::of(&kubectl, "production");
    let others: Vec<&Value> = monitored
        .objects
        .iter()
        .filter(|o| o["kind"] != "ServiceMonitor")
        .collect();
    assert_eq!(
        others,
        production.objects.iter().collect::<Vec<_>>(),
        "production-monitored: production's objects, unchanged"
    );

    let monitors = monitored.all("ServiceMonitor");
    assert_eq!(
        monitors.len(),
        SERVICES.len(),
        "one ServiceMonitor per service"
    );
    let services = monitored.all("Service");
    for service in &SERVICES {
        let name = service.name;
        let monitor = monitored.get("ServiceMonitor", name);
        assert_eq!(monitor["apiVersion"], "monitoring.coreos.com/v1", "{name}");
        assert_eq!(monitor["metadata"]["namespace"], NAMESPACE, "{name}");
        let selected: Vec<&str> = services
            .iter()
            .filter(|s| {
                let labels: BTreeMap<String, String> =
                    serde_json::from_value(s["metadata"]["labels"].clone()).unwrap_or_default();
                selects(&monitor["spec"]["selector"], &labels)
            })
            .map(|s| text(&s["metadata"]["name"]))
            .collect();
        assert_eq!(
            selected,
            [name],
            "{name}: the ServiceMonitor selects its Service only"
        );
        let endpoints = monitor["spec"]["endpoints"].as_array().expect("endpoints");
        assert_eq!(endpoints.len(), 1, "{name}: {endpoints:?}");
        let endpoint = &endpoints[0];
        assert_eq!(
            endpoint["port"], "metrics",
            "{name}: the Service's metrics port"
        );
        assert_eq!(endpoint["path"], "/metrics", "{name}");
        assert_eq!(endpoint["scheme"], "http", "{name}: metrics are plain HTTP");
        // The port is the Service's `metrics` port (9090), which check_common ties to the
        // container port named `metrics` and to CHANCERY_METRICS_LISTEN.
        let port = monitored.get("Service", name)["spec"]["ports"]
            .as_array()
            .expect("ports")
            .iter()
            .find(|p| p["name"] == "metrics")
            .unwrap_or_else(|| panic!("{name}: a Service port named metrics"))
            .clone();
        assert_eq!(port["port"], u64::from(METRICS_PORT), "{name}");
        assert!(
            monitor["spec"].get("namespaceSelector").is_none(),
            "{name}: it watches its own namespace"
        );
    }
}
