//! okta-sim's own test fixtures: the binary this crate builds on a free loopback port, Okta's OpenAPI spec,
//! and the Python venv with Okta's official SDK. Nothing here comes from the operator's crate: if the
//! client and the simulator shared a misunderstanding of Okta, no test could catch it.
#![allow(dead_code, unreachable_pub)]

pub mod sim;

use std::path::PathBuf;

/// The workspace root (okta-sim's parent directory).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}
