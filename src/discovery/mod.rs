//! The discovery engine: access check, fetch, aggregate into a [`report::Report`]. No Kubernetes inside.

pub mod access;
pub mod engine;
pub mod report;
pub mod usage;

pub use access::{Access, AccessReport, Need, check_access};
pub use engine::{Discovery, DiscoveryError, Progress, discover, sync};
pub use report::{AppUsage, Report, Summary};
pub use usage::UsageLedger;
