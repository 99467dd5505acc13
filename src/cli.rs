//! The `dti-operator` command line: one subcommand per front of the product.

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
    /// Print the OktaIntegration CustomResourceDefinition as YAML.
    Crd,
}
