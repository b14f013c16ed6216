//! Seeded randomness. ChaCha8 streams are specified, so a seed gives the same numbers on every
//! platform; a (seed, stream) pair names an independent sequence, which is how per-epoch
//! shuffles and per-epoch noise stay reproducible across an interrupted and resumed run.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The generator for `stream` of `seed`.
pub fn stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// One standard normal draw (Box-Muller, one value per call so sequences are easy to reason
/// about).
pub fn standard_normal(rng: &mut impl Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// `n` standard normal draws as f32.
pub fn normals(rng: &mut impl Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| standard_normal(rng) as f32).collect()
}
