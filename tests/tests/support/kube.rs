//! The Kubernetes manifests under `deploy/k8s`, rendered offline with kubectl.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// One Chancery service as the manifests run it.
pub(crate) struct Service {
    pub(crate) name: &'static str,
    pub(crate) port: u16,
    pub(crate) grpc_service: &'static str,
}

pub(crate) const SERVICES: [Service; 4] = [
    Service {
        name: "gateway",
        port: 50051,
        grpc_service: "chancery.gateway.v1.EpisodeService",
    },
    Service {
        name: "actors",
        port: 50052,
        grpc_service: "chancery.actors.v1.ActorService",
    },
    Service {
        name: "communications",
        port: 50053,
        grpc_service: "chancery.communications.v1.CommunicationService",
    },
    Service {
        name: "statements",
        port: 50054,
        grpc_service: "chancery.statements.v1.StatementService",
    },
];

pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The kubectl to use, or `None` (tests skipped) when there is none and `CI` is unset.
pub(crate) fn kubectl() -> Option<String> {
    let kubectl = std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".to_owned());
    let works = Command::new(&kubectl)
        .args(["version", "--client"])
        .output()
        .map(|output| output.status.success())
        .unwrap_or(false);
    if works {
        return Some(kubectl);
    }
    let message = format!(
        "`{kubectl} version --client` failed: the manifest tests need kubectl (with its built-in \
         kustomize) on the PATH or named by KUBECTL"
    );
    if std::env::var_os("CI").is_some() {
        panic!("{message} (CI is set, so this is a failure, not a skip)");
    }
    eprintln!("skipped: {message}");
    None
}

/// Every object of an overlay, rendered offline.
pub(crate) fn render(kubectl: &str, overlay: &str) -> Vec<Value> {
    let dir = repo().join("deploy/k8s/overlays").join(overlay);
    let rendered = Command::new(kubectl)
        .arg("kustomize")
        .arg(&dir)
        .output()
        .expect("run kubectl kustomize");
    assert!(
        rendered.status.success(),
        "kubectl kustomize {}: {}",
        dir.display(),
        String::from_utf8_lossy(&rendered.stderr)
    );
    let yaml = std::env::temp_dir().join(format!(
        "chancery-manifests-{overlay}-{}.yaml",
        std::process::id()
    ));
    std::fs::write(&yaml, &rendered.stdout).expect("write the rendered YAML");
    // An empty local merge patch changes nothing and prints each object as JSON, with no cluster.
    let json = Command::new(kubectl)
        .args([
            "patch",
            "--local",
            "--type=merge",
            "-p",
            "{}",
            "-o",
            "json",
            "-f",
        ])
        .arg(&yaml)
        .output()
        .expect("run kubectl patch --local");
    let _ = std::fs::remove_file(&yaml);
    assert!(
        json.status.success(),
        "kubectl patch --local: {}",
        String::from_utf8_lossy(&json.stderr)
    );
    let objects: Vec<Value> = serde_json::Deserializer::from_slice(&json.stdout)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .expect("kubectl prints JSON objects");
    let documents = String::from_utf8_lossy(&rendered.stdout)
        .lines()
        .filter(|line| line.starts_with("kind:"))
        .count();
    assert_eq!(objects.len(), documents, "every rendered object converts");
    objects
}

/// The rendered objects of one overlay, by kind and name.
pub(crate) struct Rendered {
    pub(crate) objects: Vec<Value>,
}

impl Rendered {
    pub(crate) fn of(kubectl: &str, overlay: &str) -> Self {
        Rendered {
            objects: render(kubectl, overlay),
        }
    }

    pub(crate) fn all(&self, kind: &str) -> Vec<&Value> {
        self.objects.iter().filter(|o| o["kind"] == kind).collect()
    }

    pub(crate) fn get(&self, kind: &str, name: &str) -> &Value {
        self.objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name}"))
    }

    /// The Deployment's only container.
    pub(crate) fn container(&self, service: &str) -> &Value {
        let containers = self.get("Deployment", service)["spec"]["template"]["spec"]["containers"]
            .as_array()
            .expect("containers");
        assert_eq!(containers.len(), 1, "{service}: one container");
        &containers[0]
    }

    /// The variables a service's container gets: `(name, value or None when from a Secret)`.
    pub(crate) fn environment(&self, service: &str) -> BTreeMap<String, Option<String>> {
        let container = self.container(service);
        let mut environment = BTreeMap::new();
        for source in container["envFrom"].as_array().into_iter().flatten() {
            let name = source["configMapRef"]["name"]
                .as_str()
                .unwrap_or_else(|| panic!("{service}: envFrom only from ConfigMaps: {source}"));
            let data = self.get("ConfigMap", name)["data"]
                .as_object()
                .expect("ConfigMap data");
            for (key, value) in data {
                environment.insert(key.clone(), value.as_str().map(str::to_owned));
            }
        }
        for variable in container["env"].as_array().into_iter().flatten() {
            let name = variable["name"].as_str().expect("env name").to_owned();
            assert!(
                !environment.contains_key(&name),
                "{service}: {name} is set twice"
            );
            environment.insert(name, variable["value"].as_str().map(str::to_owned));
        }
        environment
    }
}
