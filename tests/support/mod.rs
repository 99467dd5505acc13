//! Shared test fixtures: one real control plane (etcd, kube-apiserver, kube-controller-manager, and for the
//! node tests a scheduler, containerd and a kubelet; started by scripts/control-plane.sh) per test binary,
//! one namespace per test. The script's owner watchdog stops it when the binary exits.
#![allow(dead_code, unreachable_pub)]

pub mod checkpoint;
pub mod cli;
pub mod contract;
pub mod history;
pub mod operator;
pub mod sim;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{ObjectMeta, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One write the API server's audit log recorded.
#[derive(Clone, Debug)]
pub struct AuditedWrite {
    /// The writer's User-Agent: `dti-operator/<version> (<pod name>)`.
    pub agent: String,
    pub verb: String,
    pub resource: String,
    pub name: String,
    pub at: chrono::DateTime<chrono::Utc>,
    pub code: u16,
}

impl AuditedWrite {
    /// A write that took effect (2xx).
    pub fn succeeded(&self) -> bool {
        (200..300).contains(&self.code)
    }
}

pub struct ControlPlane {
    pub dir: PathBuf,
    pub kubeconfig: PathBuf,
    pub kubectl: PathBuf,
}

static CONTROL_PLANE: OnceLock<ControlPlane> = OnceLock::new();
static NAMESPACE_SEQ: AtomicU32 = AtomicU32::new(0);

/// The control plane of this test binary, started on first use with the CRDs installed.
pub fn control_plane() -> &'static ControlPlane {
    CONTROL_PLANE.get_or_init(|| start_control_plane(&["up"], &[], true))
}

/// The control plane of this test binary without the CRDs (for tests that install them, e.g. with helm).
pub fn control_plane_bare() -> &'static ControlPlane {
    CONTROL_PLANE.get_or_init(|| start_control_plane(&["up"], &[], false))
}

/// A one-node cluster (scheduler, containerd, kubelet) with the OCI image `archive` loaded as `image`.
pub fn cluster_with_node(archive: &Path, image: &str) -> &'static ControlPlane {
    let load = format!("{}={image}", archive.display());
    CONTROL_PLANE.get_or_init(|| start_control_plane(&["up", "--with-node", "--image", load.as_str()], &[], false))
}

fn start_control_plane(command: &[&str], env: &[(&str, &str)], install_crds: bool) -> ControlPlane {
    let dir = std::env::temp_dir().join(format!("dti-cp-{}", std::process::id()));
    let out = Command::new(repo_root().join("scripts/control-plane.sh"))
        .args(command)
        .arg(&dir)
        .env("DTI_CONTROL_PLANE_OWNER_PID", std::process::id().to_string())
        .envs(env.iter().copied())
        .output()
        .expect("run scripts/control-plane.sh");
    assert!(
        out.status.success(),
        "control plane did not start:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{}", String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or_default());
    let cp = ControlPlane { kubeconfig: dir.join("kubeconfig"), kubectl: dir.join("kubectl"), dir };
    if install_crds {
        let crds = repo_root().join("crds");
        cp.kubectl_ok(&["apply", "--server-side", "-f", crds.to_str().expect("utf-8 path")]);
        for crd in ["oktaintegrations", "oktaapps", "oktasyncstates"] {
            cp.kubectl_ok(&["wait", "--for=condition=Established", &format!("crd/{crd}.dti.dev"), "--timeout=60s"]);
        }
    }
    cp
}

impl ControlPlane {
    /// Runs kubectl against this control plane.
    pub fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> Output {
        use std::io::Write;
        let mut child = Command::new(&self.kubectl)
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn kubectl");
        let mut input = child.stdin.take().expect("stdin");
        input.write_all(stdin.unwrap_or_default().as_bytes()).expect("write stdin");
        drop(input);
        child.wait_with_output().expect("kubectl output")
    }

    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args, None);
        assert!(out.status.success(), "kubectl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub async fn client(&self) -> Client {
        let kubeconfig = Kubeconfig::read_from(&self.kubeconfig).expect("read kubeconfig");
        let config =
            Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.expect("kubeconfig");
        Client::try_from(config).expect("client")
    }

    /// Creates a fresh namespace for one test.
    pub async fn namespace(&self, client: &Client, prefix: &str) -> String {
        let name = format!("{prefix}-{}-{}", std::process::id(), NAMESPACE_SEQ.fetch_add(1, Ordering::SeqCst));
        let ns =
            Namespace { metadata: ObjectMeta { name: Some(name.clone()), ..Default::default() }, ..Default::default() };
        Api::<Namespace>::all(client.clone()).create(&PostParams::default(), &ns).await.expect("create namespace");
        name
    }

    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// Kills kube-apiserver, waits `seconds`, and starts it again with the same flags (an outage).
    pub fn restart_apiserver(&self, seconds: u32) {
        let out = Command::new(repo_root().join("scripts/control-plane.sh"))
            .args(["restart-apiserver"])
            .arg(&self.dir)
            .arg(seconds.to_string())
            .output()
            .expect("restart kube-apiserver");
        assert!(out.status.success(), "restart failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// The API server's pid (to pause it with SIGSTOP).
    pub fn apiserver_pid(&self) -> u32 {
        std::fs::read_to_string(self.dir.join("kube-apiserver.pid")).expect("pid").trim().parse().expect("pid number")
    }

    /// Writes recorded by the API server's audit log, in order.
    pub fn audited_writes(&self) -> Vec<AuditedWrite> {
        let text = std::fs::read_to_string(self.dir.join("audit.log")).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|e| e["stage"] == "ResponseComplete")
            .filter_map(|e| {
                let at = chrono::DateTime::parse_from_rfc3339(e["requestReceivedTimestamp"].as_str()?)
                    .ok()?
                    .with_timezone(&chrono::Utc);
                let r = &e["objectRef"];
                let resource = match r["subresource"].as_str() {
                    Some(sub) => format!("{}/{sub}", r["resource"].as_str()?),
                    None => r["resource"].as_str()?.to_string(),
                };
                Some(AuditedWrite {
                    agent: e["userAgent"].as_str()?.to_string(),
                    verb: e["verb"].as_str()?.to_string(),
                    resource,
                    name: r["name"].as_str().unwrap_or_default().to_string(),
                    at,
                    code: e["responseStatus"]["code"].as_u64().unwrap_or(0) as u16,
                })
            })
            .collect()
    }
}

/// A kubeconfig that acts as `user` (the API server's impersonation), for checking what they may read.
pub fn kubeconfig_as(cp: &ControlPlane, user: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(cp.kubeconfig_path()).expect("kubeconfig");
    let mut doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("yaml");
    for u in doc["users"].as_sequence_mut().expect("users") {
        u["user"]["as"] = serde_yaml::Value::from(user);
    }
    let path = std::env::temp_dir().join(format!("kubeconfig-as-{}-{}", std::process::id(), user.replace(':', "-")));
    std::fs::write(&path, serde_yaml::to_string(&doc).expect("yaml")).expect("write");
    path
}
