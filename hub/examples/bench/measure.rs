//! Running an operation many times: latency one at a time, then throughput
//! with several in flight.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::report::Figures;

/// Calls `op(i)` for `samples` values of `i` one at a time (after a short
/// warm-up) for the latencies, then `samples` more with `concurrency` calls
/// in flight for the throughput. `op` picks its input from `i`.
pub async fn measure<F, Fut>(samples: usize, concurrency: usize, op: F) -> anyhow::Result<Figures>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let op = Arc::new(op);
    for i in 0..samples.min(20) {
        op(samples * 3 + i).await?;
    }
    let mut latencies = Vec::with_capacity(samples);
    for i in 0..samples {
        let t = Instant::now();
        op(i).await?;
        latencies.push(t.elapsed());
    }
    let rate = throughput(samples, concurrency, move |i| op(samples + i)).await?;
    Ok(Figures::new(latencies, rate))
}

/// Calls per second of `op` with `concurrency` calls in flight, `total` calls in all.
pub async fn throughput<F, Fut>(total: usize, concurrency: usize, op: F) -> anyhow::Result<f64>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let op = op.clone();
        let next = next.clone();
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return anyhow::Ok(());
                }
                op(i).await?;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// Calls `op` with `concurrency` in flight for `for_how_long`; answers the
/// latencies of the calls and the calls per second.
pub async fn sustained<F, Fut>(
    for_how_long: Duration,
    concurrency: usize,
    op: F,
) -> anyhow::Result<Figures>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let op = op.clone();
        let next = next.clone();
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            while started.elapsed() < for_how_long {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let t = Instant::now();
                op(i).await?;
                latencies.push(t.elapsed());
            }
            anyhow::Ok(latencies)
        });
    }
    let mut latencies = Vec::new();
    while let Some(done) = tasks.join_next().await {
        latencies.extend(done??);
    }
    let rate = latencies.len() as f64 / started.elapsed().as_secs_f64();
    Ok(Figures::new(latencies, rate))
}

/// A small, seedable generator for picking inputs: the same picks on every run.
pub struct Picks(u64);

impl Picks {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }

    pub fn many(&mut self, count: usize, below: usize) -> Arc<Vec<usize>> {
        Arc::new((0..count).map(|_| self.below(below)).collect())
    }
}
