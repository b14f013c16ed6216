//! One inference thread per model. Requests queue on a bounded channel (a full queue is a 503,
//! never unbounded memory); the thread takes the first waiting request, waits up to the batching
//! window for more of the same row route, runs them as one forward pass and splits the answer.
//! Inference never runs on the async threads, so a slow model cannot stall accepting and parsing.

use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aekit::apps::endpoint::{Endpoint, FlagRule, ModelInfo, Route, RowsOut};
use tokio::sync::oneshot;

use crate::metrics::Metrics;

/// What a request asks of the model.
pub enum Work {
    Rows { x: Vec<f32>, n: usize, rule: FlagRule },
    Sample { n: usize, seed: u64, temperature: f64 },
    Image { bytes: Vec<u8> },
    LatentMap,
}

/// The model's answer.
pub enum Answer {
    Rows(RowsOut),
    Png(Vec<u8>),
    Json(serde_json::Value),
}

struct Job {
    route: Route,
    work: Work,
    reply: oneshot::Sender<aekit::Result<Answer>>,
}

/// How requests are batched.
#[derive(Debug, Clone, Copy)]
pub struct Batching {
    /// Off: every request is its own forward pass.
    pub enabled: bool,
    /// How long the first request of a batch waits for others; zero: only those already queued
    /// (which arrived while the model was busy) join it.
    pub window: Duration,
    /// Most samples in one forward pass.
    pub max_samples: usize,
}

/// A model's queue; cloning shares it.
#[derive(Clone)]
pub struct Worker {
    pub info: Arc<ModelInfo>,
    /// Row routes' values per sample, and whether the latent map is offered.
    pub row_lens: Arc<Vec<(Route, usize)>>,
    /// The routes offered (the model's, and `latent_map` when the map is loaded).
    pub routes: Arc<Vec<&'static str>>,
    tx: SyncSender<Job>,
}

/// Why a job was not answered.
pub enum Refused {
    /// The queue is full.
    Busy,
    /// The inference thread is gone (it panicked).
    Gone,
}

impl Worker {
    /// Starts the thread that owns `endpoint`, with a queue of `queue` requests.
    pub fn start(endpoint: Endpoint, queue: usize, batching: Batching, metrics: Arc<Metrics>) -> Self {
        let info = Arc::new(endpoint.info().clone());
        let row_lens = Arc::new(
            [Route::Encode, Route::Decode, Route::Reconstruct, Route::Score]
                .into_iter()
                .filter_map(|r| endpoint.row_len(r).ok().map(|n| (r, n)))
                .collect::<Vec<_>>(),
        );
        let mut routes = info.routes.clone();
        if endpoint.check_route(Route::LatentMap).is_ok() {
            routes.push(Route::LatentMap.name());
        }
        let routes = Arc::new(routes);
        let (tx, rx) = mpsc::sync_channel::<Job>(queue.max(1));
        let name = format!("aekit-infer-{}", info.name);
        std::thread::Builder::new().name(name).spawn(move || run(endpoint, rx, batching, metrics)).expect("spawn the inference thread");
        Worker { info, row_lens, routes, tx }
    }

    pub fn row_len(&self, route: Route) -> Option<usize> {
        self.row_lens.iter().find(|(r, _)| *r == route).map(|(_, n)| *n)
    }

    /// Queues a job; the answer arrives on the returned receiver.
    pub fn submit(&self, route: Route, work: Work) -> Result<oneshot::Receiver<aekit::Result<Answer>>, Refused> {
        let (reply, rx) = oneshot::channel();
        match self.tx.try_send(Job { route, work, reply }) {
            Ok(()) => Ok(rx),
            Err(TrySendError::Full(_)) => Err(Refused::Busy),
            Err(TrySendError::Disconnected(_)) => Err(Refused::Gone),
        }
    }
}

fn run(ep: Endpoint, rx: mpsc::Receiver<Job>, batching: Batching, metrics: Arc<Metrics>) {
    while let Ok(first) = rx.recv() {
        if !(batching.enabled && first.route.is_batched()) {
            guarded(|| one(&ep, first, &metrics));
            continue;
        }
        // Gather requests of the same route until the window closes or the batch is full;
        // others wait their turn in arrival order.
        let route = first.route;
        let mut rows = samples(&first);
        let mut batch = vec![first];
        let mut others = Vec::new();
        let deadline = Instant::now() + batching.window;
        while rows < batching.max_samples {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(job) if job.route == route && rows + samples(&job) <= batching.max_samples => {
                    rows += samples(&job);
                    batch.push(job);
                }
                Ok(job) => {
                    others.push(job);
                    break;
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
            }
        }
        guarded(|| together(&ep, route, batch, &metrics));
        for job in others {
            guarded(|| one(&ep, job, &metrics));
        }
    }
}

/// A panic in the model (a bug) drops the jobs' reply channels, which their handlers answer
/// with a 500; the thread goes on serving.
fn guarded(f: impl FnOnce()) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
}

fn samples(job: &Job) -> usize {
    match &job.work {
        Work::Rows { n, .. } => *n,
        _ => 1,
    }
}

/// One forward pass over the rows of several requests of one route.
fn together(ep: &Endpoint, route: Route, batch: Vec<Job>, metrics: &Metrics) {
    // Callers that gave up (timed out, disconnected) are not computed for.
    let batch: Vec<Job> = batch.into_iter().filter(|j| !j.reply.is_closed()).collect();
    if batch.len() == 1 {
        return batch.into_iter().for_each(|j| one(ep, j, metrics));
    }
    let mut x = Vec::new();
    let mut parts = Vec::with_capacity(batch.len());
    for job in batch {
        let Work::Rows { x: xs, n, rule } = job.work else { unreachable!("row routes carry rows") };
        x.extend(xs);
        parts.push((n, rule, job.reply));
    }
    let total: usize = parts.iter().map(|p| p.0).sum();
    metrics.batch(total);
    match ep.rows(route, x, total, FlagRule::default()) {
        Ok(mut out) => {
            for (n, rule, reply) in parts {
                let mut mine = out.split_off(n);
                let answer = match (rule.alpha, &mine.scores, &mine.p_values) {
                    (Some(_), Some(s), Some(p)) => ep.flag(s, p, rule).map(|f| {
                        mine.flags = Some(f);
                        Answer::Rows(mine)
                    }),
                    _ => Ok(Answer::Rows(mine)),
                };
                let _ = reply.send(answer);
            }
        }
        Err(e) => {
            let msg = e.to_string();
            for (_, _, reply) in parts {
                let _ = reply.send(Err(aekit::Error::Numerical(msg.clone())));
            }
        }
    }
}

fn one(ep: &Endpoint, job: Job, metrics: &Metrics) {
    if job.reply.is_closed() {
        return;
    }
    let answer = match job.work {
        Work::Rows { x, n, rule } => {
            metrics.batch(n);
            ep.rows(job.route, x, n, rule).map(Answer::Rows)
        }
        Work::Sample { n, seed, temperature } => ep.sample(n, seed, temperature).map(Answer::Rows),
        Work::Image { bytes } => ep.restore(job.route, &bytes).map(Answer::Png),
        Work::LatentMap => ep.latent_map().map(Answer::Json),
    };
    let _ = job.reply.send(answer);
}
