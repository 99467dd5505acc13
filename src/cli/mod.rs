//! The `dti-operator` command line: one subcommand per front of the product.

pub mod output;
pub mod run;
pub mod sync;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "dti-operator",
    version,
    about = "Discovers the SaaS apps an Okta org signs in to, with their usage"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the operator: reconcile OktaIntegrations in the cluster.
    Run(run::RunArgs),
    /// Print the OktaIntegration CustomResourceDefinition as YAML.
    Crd,
    /// One sync against one Okta org; the report goes to stdout. The token comes from --token-file or the
    /// environment variable OKTA_API_TOKEN, never from a flag value.
    Sync(sync::SyncArgs),
}

pub async fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Crd => match crate::crd::crd_yaml() {
            Ok(yaml) => {
                print!("{yaml}");
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("error: cannot render the CRD: {err}");
                ExitCode::FAILURE
            }
        },
        Command::Sync(args) => sync::run(args).await,
        Command::Run(args) => run::run(args).await,
    }
}
