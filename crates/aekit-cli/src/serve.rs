//! `aekit serve`: run folders (and built-in models) behind the HTTP API of `aekit-serve`.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::time::Duration;

use aekit::apps::endpoint::Endpoint;
use aekit::Error;
use anyhow::Result;

use crate::common::{DataArgs, DeviceArg};

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// A run folder to serve, as PATH (named after the folder) or NAME=PATH; repeat for several.
    #[arg(long = "run", value_name = "[NAME=]PATH")]
    pub runs: Vec<String>,
    /// A built-in model to serve (photo-denoise, photo-denoise-blind, photo-x2, photo-x4); repeat
    /// for several.
    #[arg(long = "model", value_name = "NAME")]
    pub models: Vec<String>,
    /// Address to listen on; port 0 picks a free port (the address is printed on stdout).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// File holding the bearer token that every route but /, /app.js and /healthz requires.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Listen on a non-loopback address without a token.
    #[arg(long)]
    pub allow_unauthenticated: bool,
    /// Largest request body in bytes (413 above it).
    #[arg(long, default_value_t = 32 << 20)]
    pub max_body_bytes: usize,
    /// Most samples in one request (413 above it).
    #[arg(long, default_value_t = 1024)]
    pub max_samples: usize,
    /// Seconds a request may wait for its model (503 after it).
    #[arg(long, default_value_t = 30.0)]
    pub timeout_secs: f64,
    /// Seconds a request body may take to arrive (408 after it).
    #[arg(long, default_value_t = 10.0)]
    pub body_timeout_secs: f64,
    /// Answer every request with its own forward pass.
    #[arg(long)]
    pub no_batching: bool,
    /// How long, in microseconds, a request waits for others to share its forward pass. At 0
    /// (the default) nothing waits: the requests that queued while the model was busy are run
    /// together, so batches grow with the load and a lone request is not delayed.
    #[arg(long, default_value_t = 0)]
    pub batch_window_us: u64,
    /// Most samples in one forward pass.
    #[arg(long, default_value_t = 256)]
    pub max_batch: usize,
    /// Requests waiting per model (503 with Retry-After when full).
    #[arg(long, default_value_t = 1024)]
    pub queue: usize,
    /// Requests answered at once (503 above it).
    #[arg(long, default_value_t = 512)]
    pub max_inflight: usize,
    /// Test samples whose latent means the page's explorer maps (VAEs; 0: no map). The data
    /// are the run's own, loaded as `config.json` records them.
    #[arg(long, default_value_t = 2000)]
    pub map_samples: usize,
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    pub device: DeviceArg,
    /// Print nothing but the address and errors.
    #[arg(long)]
    pub quiet: bool,
}

pub fn run(a: ServeArgs) -> Result<()> {
    if a.runs.is_empty() && a.models.is_empty() {
        return Err(Error::InvalidArgument { name: "run", msg: "give at least one --run PATH or --model NAME".into() }.into());
    }
    let token = match &a.token_file {
        Some(p) => {
            let t = std::fs::read_to_string(p).map_err(|source| Error::Read { path: p.clone(), source })?.trim().to_string();
            if t.len() < 16 {
                return Err(Error::Input { path: p.clone(), msg: format!("the token has {} characters; use at least 16", t.len()) }.into());
            }
            Some(t)
        }
        None => None,
    };
    if !a.addr.ip().is_loopback() && token.is_none() && !a.allow_unauthenticated {
        return Err(Error::InvalidArgument {
            name: "addr",
            msg: format!("{} is reachable from other machines; give --token-file (or --allow-unauthenticated to serve anyone)", a.addr),
        }
        .into());
    }
    let positive = |name: &'static str, v: f64| {
        if v.is_finite() && v > 0.0 {
            Ok(Duration::from_secs_f64(v))
        } else {
            Err(Error::InvalidArgument { name, msg: format!("{v}: expected a positive number of seconds") })
        }
    };
    for (name, v) in [("max-body-bytes", a.max_body_bytes), ("max-samples", a.max_samples), ("max-batch", a.max_batch), ("queue", a.queue), ("max-inflight", a.max_inflight)] {
        if v == 0 {
            return Err(Error::InvalidArgument { name: "limit", msg: format!("--{name} 0: expected at least 1") }.into());
        }
    }
    let opts = aekit_serve::ServeOptions {
        limits: aekit_serve::Limits {
            max_body: a.max_body_bytes,
            max_samples: a.max_samples,
            body_timeout: positive("body-timeout-secs", a.body_timeout_secs)?,
            request_timeout: positive("timeout-secs", a.timeout_secs)?,
        },
        batching: aekit_serve::Batching { enabled: !a.no_batching, window: Duration::from_micros(a.batch_window_us), max_samples: a.max_batch },
        queue: a.queue,
        max_inflight: a.max_inflight,
        token,
        ..aekit_serve::ServeOptions::default()
    };
    let device = a.device.device()?;
    let mut endpoints: Vec<(String, Endpoint)> = Vec::new();
    for spec in &a.runs {
        let (name, path) = match spec.split_once('=') {
            Some((n, p)) => (n.to_string(), PathBuf::from(p)),
            None => {
                let p = PathBuf::from(spec);
                let n = p.canonicalize().ok().and_then(|c| c.file_name().map(|f| f.to_string_lossy().into_owned())).unwrap_or_else(|| spec.clone());
                (n, p)
            }
        };
        check_name(&name)?;
        let mut ep = Endpoint::open(&name, &path, &device)?;
        if a.map_samples > 0 && ep.info().kind == "vae" {
            match map_data(&path, a.quiet) {
                Ok(ds) => ep.set_map_data(&ds, a.map_samples)?,
                Err(e) if !a.quiet => eprintln!("note: {name}: no latent map ({e:#})"),
                Err(_) => {}
            }
        }
        endpoints.push((name, ep));
    }
    for m in &a.models {
        check_name(m)?;
        endpoints.push((m.clone(), Endpoint::from_run(m, aekit::apps::restore::builtin::open(m, &device)?, &device)));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (n, _) in &endpoints {
        if !seen.insert(n.clone()) {
            return Err(Error::InvalidArgument { name: "run", msg: format!("two models are named {n:?}; name them with --run NAME=PATH") }.into());
        }
    }
    let listener = TcpListener::bind(a.addr).map_err(|e| Error::InvalidArgument { name: "addr", msg: format!("cannot listen on {}: {e}", a.addr) })?;
    let local = listener.local_addr()?;
    if !a.quiet {
        for (n, ep) in &endpoints {
            eprintln!("{n}: {} ({}), routes {}", ep.info().kind, ep.info().model, ep.info().routes.join(", "));
        }
    }
    // The one line a script waits for (port 0 picks the port).
    println!("listening on http://{local}");
    use std::io::Write as _;
    std::io::stdout().flush()?;
    aekit_serve::serve(listener, endpoints, opts, aekit_serve::shutdown_signal())?;
    if !a.quiet {
        eprintln!("stopped");
    }
    Ok(())
}

/// Model names appear in URLs and metric labels: letters, digits, `-`, `_`, `.` only.
fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
        return Err(Error::InvalidArgument { name: "run", msg: format!("{name:?}: a model name has 1 to 64 letters, digits, '-', '_' or '.'") }.into());
    }
    Ok(())
}

/// The test samples of a run's own data (as `config.json` records them), for the latent map.
fn map_data(run: &std::path::Path, quiet: bool) -> Result<aekit::data::Dataset> {
    let request = aekit::train::run::read_request(run)?;
    let saved = request.data.get("args").cloned().unwrap_or_default();
    let data: DataArgs = serde_json::from_value(saved).map_err(|e| anyhow::anyhow!("config.json records no data settings ({e})"))?;
    let split = data.load(request.train.seed, quiet)?;
    Ok(split.test)
}
