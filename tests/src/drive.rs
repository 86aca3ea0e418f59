//! What the benchmark binaries share: their command-line numbers, and the closed loop that
//! runs N callers for a while and collects every call's latency.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The value after `name` on the command line, or `default` when absent; a value that does
/// not parse is an error naming the flag.
pub fn flag<T: FromStr>(name: &str, default: T) -> Result<T, String> {
    let args: Vec<String> = std::env::args().collect();
    match args
        .iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
    {
        Some(value) => value
            .parse()
            .map_err(|_| format!("{name} expects a number, not `{value}`")),
        None => Ok(default),
    }
}

/// The `p` quantile (0 to 1) of `latencies`, which it sorts; zero when empty.
pub fn percentile(latencies: &mut [Duration], p: f64) -> Duration {
    latencies.sort_unstable();
    let i = ((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1));
    latencies.get(i).copied().unwrap_or_default()
}

/// What a closed-loop run did.
#[derive(Debug, Default)]
pub struct Run {
    /// Calls that succeeded.
    pub calls: usize,
    /// Calls that failed.
    pub errors: usize,
    /// How long it ran.
    pub elapsed: Duration,
    /// The latency of every successful call.
    pub latencies: Vec<Duration>,
}

impl Run {
    /// Adds another run of the same workload (its calls, errors and time).
    pub fn absorb(&mut self, other: Run) {
        self.calls += other.calls;
        self.errors += other.errors;
        self.elapsed += other.elapsed;
        self.latencies.extend(other.latencies);
    }

    /// Successful calls per second.
    pub fn throughput(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64()
    }

    /// The `p` quantile of the latencies.
    pub fn percentile(&mut self, p: f64) -> Duration {
        percentile(&mut self.latencies, p)
    }
}

/// Runs every caller in its own task, each calling again as soon as its call ends, for
/// `duration`; a call answers whether it succeeded.
pub async fn closed_loop<C, Fut>(callers: Vec<C>, duration: Duration) -> Run
where
    C: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = bool> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(callers.len());
    for mut call in callers {
        let stop = Arc::clone(&stop);
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0usize);
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                if call().await {
                    latencies.push(t.elapsed());
                } else {
                    errors += 1;
                }
            }
            (latencies, errors)
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut run = Run::default();
    for task in tasks {
        // A caller that panicked counts as one failed call.
        let (latencies, errors) = task.await.unwrap_or_else(|_| (Vec::new(), 1));
        run.calls += latencies.len();
        run.errors += errors;
        run.latencies.extend(latencies);
    }
    run.elapsed = start.elapsed();
    run
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_set() {
        let mut v: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        assert_eq!(percentile(&mut v, 0.50), Duration::from_millis(51));
        assert_eq!(percentile(&mut v, 0.99), Duration::from_millis(100));
        assert_eq!(percentile(&mut [], 0.5), Duration::ZERO);
    }

    #[tokio::test]
    async fn a_closed_loop_counts_successes_and_failures() {
        let callers: Vec<_> = [true, false]
            .into_iter()
            .map(|ok| {
                move || async move {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    ok
                }
            })
            .collect();
        let run = closed_loop(callers, Duration::from_millis(100)).await;
        assert!(run.calls > 0 && run.errors > 0, "{run:?}");
        assert_eq!(run.latencies.len(), run.calls);
        assert!(run.elapsed >= Duration::from_millis(100));
    }
}
