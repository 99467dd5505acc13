//! The reconcile's steps, one module each, in the order data flows: read the Secret → validate (domain,
//! access) → schedule the sync job → compose status → apply status.

pub(crate) mod apply;
pub(crate) mod compose;
pub(crate) mod schedule;
pub(crate) mod secret;
pub(crate) mod validate;
