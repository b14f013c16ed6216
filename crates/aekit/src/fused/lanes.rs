//! Vector-width plumbing shared by the channels-last kernels (Winograd, direct): loops over
//! `[f32; L]` lanes compiled for the widest vector unit the CPU has, chosen at run time.

use std::sync::OnceLock;

/// Copies the first `lanes` of `src` to `dst`: a fixed-size copy when all L lanes are used (a
/// copy of variable length is a `memcpy` call, which cost 30% of SRCNN's training time here).
#[inline(always)]
pub(crate) fn store<const L: usize>(dst: &mut [f32], src: &[f32; L], lanes: usize) {
    if lanes == L {
        dst[..L].copy_from_slice(src);
    } else {
        dst[..lanes].copy_from_slice(&src[..lanes]);
    }
}

/// `dst[..lanes]` from `src`, the rest zero.
#[inline(always)]
pub(crate) fn load<const L: usize>(src: &[f32], lanes: usize) -> [f32; L] {
    if lanes == L {
        return <[f32; L]>::try_from(&src[..L]).expect("L values");
    }
    let mut dst = [0.0f32; L];
    dst[..lanes].copy_from_slice(&src[..lanes]);
    dst
}

/// `tile(lanes)` with `lanes` the constant L where the block of channels is whole (all but a
/// ragged last one), so that in the inlined body every load and store is one vector move; a
/// lane count known only at run time left the transforms copying through the stack.
macro_rules! by_lanes {
    ($lanes:expr, $l:ident, |$n:ident| $body:expr) => {
        if $lanes == $l {
            let $n = $l;
            $body
        } else {
            let $n = $lanes;
            $body
        }
    };
}

/// The vector unit the fused kernels are compiled for, chosen once at run time. Ordered from
/// the narrowest: `AEKIT_SIMD` can only lower the choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Simd {
    /// The build's baseline (SSE2 on x86-64, NEON on aarch64): 8 channels per step.
    Base,
    /// AVX2 and FMA: 8 channels per step.
    Avx2,
    /// AVX-512: 16 channels per step, one zmm register per transform entry.
    Avx512,
}

/// The widest unit this CPU has, lowered to `AEKIT_SIMD` (`avx512`, `avx2` or `base`) when that
/// names a narrower one: so that the AVX2 and baseline paths can be run and tested on a machine
/// with AVX-512 (`fused::tests::narrower_vector_units_pass_the_fused_tests`). An unknown value
/// is ignored; a wider one than the CPU has cannot be asked for (it would not run).
pub(crate) fn simd() -> Simd {
    static S: OnceLock<Simd> = OnceLock::new();
    *S.get_or_init(|| {
        let cap = std::env::var("AEKIT_SIMD").ok().and_then(|v| match v.trim().to_ascii_lowercase().as_str() {
            "avx512" => Some(Simd::Avx512),
            "avx2" => Some(Simd::Avx2),
            "base" => Some(Simd::Base),
            _ => None,
        });
        detected().min(cap.unwrap_or(Simd::Avx512))
    })
}

pub(crate) fn detected() -> Simd {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return Simd::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            return Simd::Avx2;
        }
    }
    Simd::Base
}

/// `$name(args)`: `$lanes::<L>(args)` compiled for the widest vector unit the CPU has. The
/// transforms are plain loops over `[f32; L]` lanes; the compiler vectorises them only as wide
/// as the target features it is given, and the default x86-64 target has SSE2 alone.
macro_rules! dispatch {
    ($name:ident, $lanes:ident, ($($arg:ident: $ty:ty),*)) => {
        #[allow(clippy::too_many_arguments)]
        fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[allow(clippy::too_many_arguments)]
                #[target_feature(enable = "avx512f")]
                unsafe fn v4($($arg: $ty),*) {
                    $lanes::<16>($($arg),*)
                }
                #[allow(clippy::too_many_arguments)]
                #[target_feature(enable = "avx2,fma")]
                unsafe fn v3($($arg: $ty),*) {
                    $lanes::<8>($($arg),*)
                }
                match simd() {
                    // SAFETY: `simd` found the features on this CPU.
                    Simd::Avx512 => return unsafe { v4($($arg),*) },
                    Simd::Avx2 => return unsafe { v3($($arg),*) },
                    Simd::Base => {}
                }
            }
            $lanes::<8>($($arg),*)
        }
    };
}

