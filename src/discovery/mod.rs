//! The discovery engine: access check, fetch, aggregate into a [`report::Report`]. No Kubernetes inside.

pub mod report;
