//! The discovery engine: access check, listings, the System Log read, and aggregation into a report.
//! No Kubernetes inside; the CLI and the controller both drive it.

mod access;
mod assignments;
mod attributes;
pub(crate) mod breakdown;
pub(crate) mod checkpoint;
mod clock;
mod compact;
mod directory;
mod edge;
mod engine;
mod events;
mod exempt;
mod exemptions;
mod export;
mod failure;
mod fetch;
pub(crate) mod history;
mod inventory;
mod log;
mod need;
mod progress;
#[cfg(test)]
mod proptests;
pub(crate) mod reclaim;
mod records;
pub(crate) mod report;
mod state;
mod usage;

pub(crate) use access::{AccessReport, Need, check_access};
pub(crate) use attributes::{
    MAX_ATTRIBUTES as MAX_BREAKDOWN_ATTRIBUTES, NONE as NO_VALUE, valid_name as valid_attribute_name,
};
pub(crate) use clock::Clock;
pub(crate) use engine::{Mode, Progress, SyncConfig, SyncOutput, sync};
pub(crate) use export::{
    CompressedList, ExportTimes, HEADER as PER_USER_HEADER, Rows, compressed_list, write_per_user,
};
pub(crate) use failure::{CredentialKind, SyncError};
pub(crate) use history::{ClosedRow, History, HistoryView, Retention, Span};
pub(crate) use report::{AppUsage, Report, Summary};
pub(crate) use state::{Landmarks, OrgState, StateKey};
