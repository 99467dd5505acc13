use std::process::ExitCode;

use clap::Parser;
use dti_operator::cli::{Cli, run};

#[tokio::main]
async fn main() -> ExitCode {
    run(Cli::parse()).await
}
