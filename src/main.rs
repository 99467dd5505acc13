use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    dti_operator::main().await
}
