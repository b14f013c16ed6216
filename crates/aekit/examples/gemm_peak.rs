//! The matrix-multiply throughput Burn Flex reaches on this machine: the ceiling that the
//! speed benchmarks (bench/vae) compare an epoch's GFLOP/s with.
//!
//!   cargo build --release --examples && target/release/examples/gemm_peak [N] [REPS]
//!
//! Prints one JSON line: the median over REPS (default 9) of an N x N x N f32 product (default
//! 1024), after two warm-up products, and the GFLOP/s that gives (2 N^3 / seconds).

use std::time::Instant;

use burn::prelude::*;
use burn::tensor::Distribution;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1024);
    let reps: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(9);
    let device = Device::flex();
    device.seed(0);
    let a = Tensor::<2>::random([n, n], Distribution::Uniform(-1.0, 1.0), &device);
    let b = Tensor::<2>::random([n, n], Distribution::Uniform(-1.0, 1.0), &device);
    let run = || {
        let t = Instant::now();
        let c = a.clone().matmul(b.clone());
        // Reading one value waits for the product on any backend.
        let _ = c.slice([0..1, 0..1]).into_scalar::<f32>();
        t.elapsed().as_secs_f64()
    };
    run();
    run();
    let mut times: Vec<f64> = (0..reps.max(1)).map(|_| run()).collect();
    times.sort_by(|x, y| x.total_cmp(y));
    let median = times[times.len() / 2];
    let gflops = 2.0 * (n as f64).powi(3) / median / 1e9;
    println!("{{\"tool\": \"aekit\", \"kind\": \"gemm\", \"n\": {n}, \"median_s\": {median:.6}, \"gflops\": {gflops:.1}}}");
}
