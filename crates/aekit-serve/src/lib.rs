//! `aekit serve`: trained runs behind a versioned JSON API and an explorer page.
//!
//! The library ([`aekit::apps::endpoint`]) does the work; this crate is transport only: a
//! hyper connection loop (header-read timeout, bounded connections, graceful shutdown), axum
//! routes ([`api`]), one batching inference thread per model ([`worker`]), Prometheus metrics
//! ([`metrics`]) and the page ([`page`]).

pub mod api;
pub mod metrics;
pub mod page;
pub mod worker;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aekit::apps::endpoint::Endpoint;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::sync::Semaphore;

pub use api::Limits;
pub use worker::Batching;

/// Everything `aekit serve` can set.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub limits: Limits,
    pub batching: Batching,
    /// Requests waiting per model (503 when full).
    pub queue: usize,
    /// Requests being answered at once (503 above it).
    pub max_inflight: usize,
    /// Open connections at once (further ones wait in the kernel's backlog).
    pub max_connections: usize,
    /// How long the request line and headers may take to arrive.
    pub header_timeout: Duration,
    /// How long shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
    /// Bearer token every route but `/`, `/app.js` and `/healthz` requires.
    pub token: Option<String>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            limits: Limits { max_body: 32 << 20, max_samples: 1024, body_timeout: Duration::from_secs(10), request_timeout: Duration::from_secs(30) },
            batching: Batching { enabled: true, window: Duration::ZERO, max_samples: 256 },
            queue: 1024,
            max_inflight: 512,
            max_connections: 1024,
            header_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(30),
            token: None,
        }
    }
}

/// Serves `endpoints` (name → endpoint) on `listener` until `shutdown` resolves, then stops
/// accepting and lets requests in flight finish (up to the grace period). Runs its own tokio
/// runtime with one thread per core.
pub fn serve(listener: std::net::TcpListener, endpoints: Vec<(String, Endpoint)>, opts: ServeOptions, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    let metrics = Arc::new(metrics::Metrics::default());
    let mut workers = BTreeMap::new();
    for (name, ep) in endpoints {
        workers.insert(name, worker::Worker::start(ep, opts.queue, opts.batching, metrics.clone()));
    }
    let state = Arc::new(api::AppState { workers, limits: opts.limits, metrics, token: opts.token.clone(), inflight: Semaphore::new(opts.max_inflight) });
    let app = api::router(state);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("aekit-http").build()?;
    rt.block_on(accept_loop(listener, app, opts, shutdown))
}

async fn accept_loop(listener: std::net::TcpListener, app: axum::Router, opts: ServeOptions, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(opts.header_timeout).keep_alive(true);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let connections = Arc::new(Semaphore::new(opts.max_connections));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = connections.clone().acquire_owned() => p.expect("never closed"),
            _ = &mut shutdown => break,
        };
        let (stream, _peer): (tokio::net::TcpStream, SocketAddr) = tokio::select! {
            c = listener.accept() => match c {
                Ok(c) => c,
                // Out of file descriptors and the like: wait, do not spin or exit.
                Err(_) => { tokio::time::sleep(Duration::from_millis(50)).await; continue; }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(opts.shutdown_grace) => {}
    }
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
