//! The Lease rounds run on a thread and with connections of their own. On the shared runtime and client,
//! a renewal waited behind a busy sync's tasks and behind hundreds of OktaApp writes for a pooled
//! connection: the round missed its renew deadline and the replica stopped although the API server kept
//! answering the others (BENCHMARKS section 9, run 22). kube-controller-manager likewise renews with a
//! client of its own (client-go's `resourcelock.NewFromKubeconfig`, user agent "leader-election").

use std::future::Future;
use std::sync::Arc;

use kube::Client;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

/// The client the Lease rounds use, and the runtime they run on.
#[derive(Clone)]
pub(crate) struct LeaseClient {
    pub(crate) client: Client,
    runtime: Handle,
}

impl LeaseClient {
    /// The caller's runtime and client: for a process alone (no Lease), and for tests.
    pub(crate) fn shared(client: Client) -> LeaseClient {
        LeaseClient { client, runtime: Handle::current() }
    }

    /// A one-thread runtime on a thread of its own, and a client that `connect` makes there (so its
    /// connections are driven there too). The thread lives as long as the process.
    pub(crate) async fn dedicated<F>(connect: F) -> Result<LeaseClient, String>
    where
        F: Future<Output = Result<Client, String>> + Send + 'static,
    {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the Lease runtime: {e}"))?;
        let handle = runtime.handle().clone();
        std::thread::Builder::new()
            .name("dti-leases".into())
            .spawn(move || runtime.block_on(std::future::pending::<()>()))
            .map_err(|e| format!("cannot start the Lease thread: {e}"))?;
        let client = on(&handle, connect).await?;
        Ok(LeaseClient { client, runtime: handle })
    }

    /// Runs `work` on the Lease runtime and waits for it; dropping the returned future stops it there.
    pub(crate) fn run<F>(&self, work: F) -> impl Future<Output = F::Output> + Send + 'static
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        on(&self.runtime, work)
    }

    /// Runs one round of `elector`'s (acquire, join, hold, release) on the Lease runtime: the round gets a
    /// clone of the elector, as the work outlives the caller's borrow.
    pub(crate) fn round<T, R, F>(&self, elector: &Arc<T>, round: R) -> impl Future<Output = F::Output> + Send + 'static
    where
        T: Send + Sync + 'static,
        R: FnOnce(Arc<T>) -> F,
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.run(round(elector.clone()))
    }
}

/// Spawns `work` on `runtime`; the future returned waits for it, aborts it when dropped, and passes a
/// panic on to its caller as if it had happened there.
fn on<F>(runtime: &Handle, work: F) -> impl Future<Output = F::Output> + Send + 'static
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let mut task = Aborting(runtime.spawn(work));
    async move {
        match (&mut task.0).await {
            Ok(done) => done,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // cancelled: only when the runtime shuts down, which the process does not outlive
            Err(_) => std::future::pending().await,
        }
    }
}

/// A task that is aborted when its handle is dropped.
struct Aborting<T>(JoinHandle<T>);

impl<T> Drop for Aborting<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    fn dedicated_runtime() -> Handle {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        let handle = runtime.handle().clone();
        std::thread::spawn(move || runtime.block_on(std::future::pending::<()>()));
        handle
    }

    #[tokio::test(flavor = "current_thread")]
    async fn work_runs_there_while_the_callers_runtime_is_blocked() {
        let runtime = dedicated_runtime();
        let (tx, rx) = std::sync::mpsc::channel();
        let waiting = on(&runtime, async move {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            let _ = tx.send(std::thread::current().id());
            7
        });
        // This runtime's only thread is busy (as 128 syncs keep workers busy): the work still finishes.
        let ran_on = rx.recv_timeout(std::time::Duration::from_secs(5)).expect("the work ran meanwhile");
        assert_ne!(ran_on, std::thread::current().id());
        assert_eq!(waiting.await, 7);
    }

    #[tokio::test]
    async fn dropping_the_wait_stops_the_work() {
        let runtime = dedicated_runtime();
        let finished = Arc::new(AtomicBool::new(false));
        let flag = finished.clone();
        let waiting = on(&runtime, async move {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            flag.store(true, Ordering::SeqCst);
        });
        drop(waiting);
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        assert!(!finished.load(Ordering::SeqCst), "the Lease work went on after its caller stopped");
    }

    #[tokio::test]
    #[should_panic(expected = "renewal panicked")]
    async fn a_panic_there_reaches_the_caller() {
        let runtime = dedicated_runtime();
        on(&runtime, async { panic!("renewal panicked") }).await;
    }
}
