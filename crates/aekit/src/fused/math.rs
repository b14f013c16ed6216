//! Branch-free `exp` and `log1p` that the compiler vectorises, for the fused kernels.
//!
//! libm's `expf`/`log1pf` are scalar calls and made up 11% of a `vae-mnist` epoch's CPU time
//! (perf, 2026-11-28). These are plain polynomial approximations on a reduced range, written
//! without branches so a loop over a slice becomes SIMD code; their relative error is below
//! 3e-7 (a few f32 roundings) over the ranges the kernels use (checked against `f64` in the tests below).

const LOG2E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;
/// 1.5 · 2^23: adding and subtracting it rounds an f32 of magnitude < 2^22 to an integer.
const ROUND: f32 = 12_582_912.0;

/// e^x for x in [-87, 0] (smaller x is clamped to -87, where e^x ≈ 1.6e-38).
#[inline(always)]
pub fn exp_neg(x: f32) -> f32 {
    let x = x.max(-87.0);
    let n = (x * LOG2E + ROUND) - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    // Taylor series of e^r to r^7 on |r| <= ln2/2: truncation error below 1.3e-8.
    let p = 1.0
        + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    let scale = f32::from_bits(((n as i32 + 127) << 23) as u32);
    p * scale
}

/// ln(1 + t) for t in [0, 1], through s = t / (2 + t) and ln(1 + t) = 2 atanh(s) with s <= 1/3
/// (no cancellation for small t, unlike ln of 1 + t).
#[inline(always)]
pub fn log1p_unit(t: f32) -> f32 {
    let s = t / (2.0 + t);
    let s2 = s * s;
    let poly = 1.0
        + s2 * (1.0 / 3.0
            + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 * (1.0 / 11.0 + s2 * (1.0 / 13.0 + s2 * (1.0 / 15.0)))))));
    2.0 * s * poly
}

/// The sigmoid σ(l) from one exponential of a non-positive argument (no overflow).
#[inline(always)]
pub fn sigmoid(l: f32) -> f32 {
    let e = exp_neg(-l.abs());
    let inv = 1.0 / (1.0 + e);
    if l >= 0.0 {
        inv
    } else {
        e * inv
    }
}

/// softplus(-|l|) = ln(1 + e^-|l|) and the sigmoid σ(l), from one exponential.
#[inline(always)]
pub fn softplus_neg_abs_and_sigmoid(l: f32) -> (f32, f32) {
    let e = exp_neg(-l.abs());
    let inv = 1.0 / (1.0 + e);
    let sig = if l >= 0.0 { inv } else { e * inv };
    (log1p_unit(e), sig)
}

/// Runs `$body` compiled for AVX2 + FMA when the CPU has them ([`crate::fused::lanes::simd`],
/// which `AEKIT_SIMD=base` lowers), and for the baseline target otherwise. The body must be an
/// `#[inline(always)]` function so each version is vectorised for its own instruction set.
macro_rules! simd_dispatch {
    ($name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? => $body:path) => {
        pub(crate) fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn wide($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                if $crate::fused::lanes::simd() >= $crate::fused::lanes::Simd::Avx2 {
                    // SAFETY: the CPU supports the features `wide` was compiled for.
                    return unsafe { wide($($arg),*) };
                }
            }
            $body($($arg),*)
        }
    };
}
pub(crate) use simd_dispatch;

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f32, b: f64) -> f64 {
        ((a as f64 - b) / b.abs().max(1e-30)).abs()
    }

    #[test]
    fn exp_matches_f64_on_its_range() {
        let mut worst: f64 = 0.0;
        for i in 0..=870_000 {
            let x = -(i as f32) * 1e-4;
            worst = worst.max(rel(exp_neg(x), (x as f64).exp()));
        }
        assert!(worst < 3e-7, "worst relative error {worst}");
    }

    #[test]
    fn log1p_matches_f64_on_unit_interval() {
        let mut worst: f64 = 0.0;
        for i in 0..=1_000_000 {
            let t = i as f32 * 1e-6;
            if t > 0.0 {
                worst = worst.max(rel(log1p_unit(t), (t as f64).ln_1p()));
            }
        }
        let tiny = 1e-30f32;
        worst = worst.max(rel(log1p_unit(tiny), (tiny as f64).ln_1p()));
        assert!(worst < 3e-7, "worst relative error {worst}");
    }

    #[test]
    fn sigmoid_and_softplus_agree_with_f64() {
        for &l in &[-100.0f32, -30.0, -5.5, -1.0, -1e-6, 0.0, 1e-6, 0.7, 3.0, 17.0, 90.0] {
            let (sp, sig) = softplus_neg_abs_and_sigmoid(l);
            let l64 = l as f64;
            let want_sig = 1.0 / (1.0 + (-l64).exp());
            let want_sp = (-l64.abs()).exp().ln_1p();
            assert!((sig as f64 - want_sig).abs() <= 1e-7 * want_sig.max(1e-30) + 1e-37, "sigmoid({l})");
            assert!(rel(sp, want_sp) < 2e-7 || (sp as f64 - want_sp).abs() < 1e-38, "softplus({l}): {sp} vs {want_sp}");
        }
    }
}
