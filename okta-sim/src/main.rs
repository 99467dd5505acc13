//! okta-sim: an Okta org simulator that behaves as Okta's Management API does (users, apps, app users,
//! groups, System Log; SSWS and OAuth 2.0 auth; rate limits; faults). It is its own crate and shares no
//! code with the product's client or engine: if both held the same misunderstanding of Okta, no test
//! could catch it.
#![forbid(unsafe_code)]

mod admin;
mod app;
mod auth;
mod clock;
mod errors;
mod events;
mod faults;
mod handlers;
mod hostile;
mod living;
mod oauth;
mod objects;
mod org;
mod ratelimit;
mod rng;
mod scim;
mod server;
mod state;
mod truth;

use std::process::ExitCode;

// Serving many orgs frees large response bodies all the time; glibc spent a quarter of the CPU on that.
#[cfg(all(target_os = "linux", not(target_env = "musl")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    match app::run(app::SimArgs::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("okta-sim: {err}");
            ExitCode::FAILURE
        }
    }
}
