//! okta-sim: an Okta org simulator.
