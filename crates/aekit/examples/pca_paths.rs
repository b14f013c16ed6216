//! Where skipping zeros pays when PCA forms the covariance: MNIST's training images (81% zeros)
//! with some of the zeros replaced by 0.01 to reach lower zero fractions, fitted (exact solver,
//! 50 components) with the dense path and with the zero-skipping path.
//!
//!   cargo run --release --example pca_paths [MNIST_TRAIN_IMAGES] [REPS]
//!
//! Prints one line per zero fraction: the median fit seconds of each path over REPS (default 5),
//! and the largest difference between their explained-variance ratios.

use std::path::PathBuf;
use std::time::Instant;

use aekit::pca::{NComponents, PcaParams};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().map(PathBuf::from).unwrap_or_else(|| {
        let root = std::env::var("AEKIT_DATA").unwrap_or_else(|_| "../shared/data".into());
        PathBuf::from(root).join("mnist/train-images-idx3-ubyte.gz")
    });
    let reps: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let ds = aekit::data::idx::load_images(&path, None).expect("MNIST training images");
    let p = ds.sample_len();
    let base = ds.data();
    let zeros = base.iter().filter(|&&v| v == 0.0).count() as f64 / base.len() as f64;
    for target in [zeros, 0.7, 0.6, 0.5, 0.4] {
        // Replace each zero with 0.01 with the probability that brings the fraction to `target`.
        let keep = target / zeros;
        let mut state = 1u64;
        let x: Vec<f32> = base
            .iter()
            .map(|&v| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let u = (state >> 11) as f64 / (1u64 << 53) as f64;
                if v == 0.0 && u >= keep { 0.01 } else { v }
            })
            .collect();
        let mut line = format!("zero fraction {target:.2}");
        let mut ratios = Vec::new();
        for skip in [false, true] {
            let params = PcaParams::new(NComponents::Count(50)).skip_zeros(Some(skip));
            let mut times = Vec::new();
            let mut fitted = None;
            for _ in 0..reps {
                let t = Instant::now();
                fitted = Some(params.fit(&x, p).expect("fit"));
                times.push(t.elapsed().as_secs_f64());
            }
            times.sort_by(f64::total_cmp);
            line += &format!("  {}: {:.3} s", if skip { "skip zeros" } else { "dense" }, times[reps / 2]);
            ratios.push(fitted.unwrap().explained_variance_ratio().to_vec());
        }
        let diff = ratios[0].iter().zip(&ratios[1]).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        println!("{line}  max |evr diff| {diff:.1e}");
    }
}
