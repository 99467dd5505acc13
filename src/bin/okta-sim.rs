use std::process::ExitCode;

use clap::Parser;
use dti_operator::sim::{SimArgs, run};

#[tokio::main]
async fn main() -> ExitCode {
    match run(SimArgs::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("okta-sim: {err}");
            ExitCode::FAILURE
        }
    }
}
