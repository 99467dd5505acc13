//! Shared test fixtures: one real control plane (etcd + kube-apiserver, started by scripts/control-plane.sh)
//! per test binary, one namespace per test. The script's owner watchdog stops it when the binary exits.
#![allow(dead_code)]

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

pub struct ControlPlane {
    pub dir: PathBuf,
    pub kubeconfig: PathBuf,
    pub kubectl: PathBuf,
}

static CONTROL_PLANE: OnceLock<ControlPlane> = OnceLock::new();
static NAMESPACE_SEQ: AtomicU32 = AtomicU32::new(0);

/// The control plane of this test binary, started on first use with the CRD installed.
pub fn control_plane() -> &'static ControlPlane {
    CONTROL_PLANE.get_or_init(|| start_control_plane(true))
}

/// The control plane of this test binary without the CRD (for tests that install it, e.g. with helm).
pub fn control_plane_bare() -> &'static ControlPlane {
    CONTROL_PLANE.get_or_init(|| start_control_plane(false))
}

fn start_control_plane(install_crd: bool) -> ControlPlane {
    {
        let dir = std::env::temp_dir().join(format!("dti-cp-{}", std::process::id()));
        let script = repo_root().join("scripts/control-plane.sh");
        let out = Command::new(&script)
            .arg("up")
            .arg(&dir)
            .env(
                "DTI_CONTROL_PLANE_OWNER_PID",
                std::process::id().to_string(),
            )
            .output()
            .expect("run scripts/control-plane.sh");
        assert!(
            out.status.success(),
            "control plane did not start:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!(
            "{}",
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .next()
                .unwrap_or_default()
        );
        let cp = ControlPlane {
            kubeconfig: dir.join("kubeconfig"),
            kubectl: dir.join("kubectl"),
            dir,
        };
        if !install_crd {
            return cp;
        }
        let crd = repo_root().join("crds/oktaintegration.yaml");
        cp.kubectl_ok(&[
            "apply",
            "--server-side",
            "-f",
            crd.to_str().expect("utf-8 path"),
        ]);
        cp.kubectl_ok(&[
            "wait",
            "--for=condition=Established",
            "crd/oktaintegrations.dti.dev",
            "--timeout=60s",
        ]);
        cp
    }
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
        input
            .write_all(stdin.unwrap_or_default().as_bytes())
            .expect("write stdin");
        drop(input);
        child.wait_with_output().expect("kubectl output")
    }

    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args, None);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub async fn client(&self) -> Client {
        let kubeconfig = Kubeconfig::read_from(&self.kubeconfig).expect("read kubeconfig");
        let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .expect("kubeconfig");
        Client::try_from(config).expect("client")
    }

    /// Creates a fresh namespace for one test.
    pub async fn namespace(&self, client: &Client, prefix: &str) -> String {
        let name = format!(
            "{prefix}-{}-{}",
            std::process::id(),
            NAMESPACE_SEQ.fetch_add(1, Ordering::SeqCst)
        );
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                ..Default::default()
            },
            ..Default::default()
        };
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .expect("create namespace");
        name
    }

    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }
}
