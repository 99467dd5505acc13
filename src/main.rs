use std::process::ExitCode;

// jemalloc purges freed pages on its own thread, so RSS at rest follows the live heap (BENCHMARKS section 10).
#[cfg(all(target_os = "linux", not(target_env = "musl")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    dti_operator::main().await
}
