//! Subnormal floats flushed to zero while a model trains.
//!
//! Why: `vae-mnist`'s epochs slowed from 2.2-2.6 s (the first two) to 3.6-4.4 s (the rest) on
//! the Intel Xeon of the session of 2026-12-04, while PyTorch's stayed at 2.7 s: values below
//! f32's normal range (~1.2e-38) appear as training goes on, and each operation on one takes a
//! microcode assist of ~100 cycles on x86. With flush-to-zero and denormals-are-zero set, the
//! same run kept 2.5-2.8 s per epoch. Values that small change no sum or update that matters
//! (TensorFlow and XLA train with the same setting); `AEKIT_FTZ=0` keeps IEEE subnormals.
//!
//! The mode is a per-thread register (MXCSR on x86-64, FPCR on AArch64). It is set on every
//! thread of rayon's global pool, where the kernels run, and on the calling thread for the guard's
//! lifetime; the calling thread gets its previous mode back when the guard drops (in the Python
//! module it is the interpreter's thread). Rayon's workers keep it: they run only numeric
//! kernels.

/// Restores the calling thread's floating-point mode when dropped.
pub struct FlushDenormals {
    saved: Option<u64>,
}

impl Drop for FlushDenormals {
    fn drop(&mut self) {
        if let Some(mode) = self.saved {
            set_mode(mode);
        }
    }
}

fn wanted() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("AEKIT_FTZ").map_or(true, |v| v.trim() != "0"))
}

/// Sets flush-to-zero on rayon's threads and this one; see the module's doc.
pub fn flush_denormals() -> FlushDenormals {
    if !wanted() || !SUPPORTED {
        return FlushDenormals { saved: None };
    }
    rayon::broadcast(|_| set_mode(mode() | FLUSH));
    let saved = mode();
    set_mode(saved | FLUSH);
    FlushDenormals { saved: Some(saved) }
}

/// Whether this thread flushes subnormals now.
pub fn flushing() -> bool {
    SUPPORTED && mode() & FLUSH == FLUSH
}

#[cfg(target_arch = "x86_64")]
mod arch {
    /// FTZ (bit 15) and DAZ (bit 6) of MXCSR.
    pub const FLUSH: u64 = 0x8040;
    pub const SUPPORTED: bool = true;
    pub fn mode() -> u64 {
        let mut x: u32 = 0;
        // SAFETY: stores MXCSR into a local u32.
        unsafe { std::arch::asm!("stmxcsr [{}]", in(reg) &mut x, options(nostack, preserves_flags)) };
        x as u64
    }
    pub fn set_mode(v: u64) {
        let x = v as u32;
        // SAFETY: loads MXCSR with a value read from it plus the FTZ/DAZ bits (both defined on
        // every x86-64 CPU with SSE2, which x86-64 requires).
        unsafe { std::arch::asm!("ldmxcsr [{}]", in(reg) &x, options(nostack, preserves_flags)) };
    }
}

#[cfg(target_arch = "aarch64")]
mod arch {
    /// FZ (bit 24) of FPCR.
    pub const FLUSH: u64 = 1 << 24;
    pub const SUPPORTED: bool = true;
    pub fn mode() -> u64 {
        let x: u64;
        // SAFETY: reads FPCR.
        unsafe { std::arch::asm!("mrs {}, fpcr", out(reg) x, options(nomem, nostack, preserves_flags)) };
        x
    }
    pub fn set_mode(v: u64) {
        // SAFETY: writes FPCR with a value read from it plus the FZ bit.
        unsafe { std::arch::asm!("msr fpcr, {}", in(reg) v, options(nomem, nostack, preserves_flags)) };
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
mod arch {
    pub const FLUSH: u64 = 0;
    pub const SUPPORTED: bool = false;
    pub fn mode() -> u64 {
        0
    }
    pub fn set_mode(_: u64) {}
}

use arch::{mode, set_mode, FLUSH, SUPPORTED};

#[cfg(test)]
mod tests {
    use super::*;

    /// The guard flushes on this thread and on rayon's, and gives this thread its mode back.
    #[test]
    fn flushes_while_held_and_restores() {
        if !SUPPORTED || !wanted() {
            return;
        }
        let before = mode();
        let tiny = std::hint::black_box(1e-39f32);
        {
            let _g = flush_denormals();
            assert!(flushing());
            // DAZ: a subnormal input reads as zero.
            assert_eq!(std::hint::black_box(tiny) * 1.0, 0.0);
            let workers: Vec<bool> = rayon::broadcast(|_| flushing());
            assert!(workers.iter().all(|&f| f), "rayon threads: {workers:?}");
        }
        assert_eq!(mode(), before);
        assert_eq!(std::hint::black_box(tiny) * 1.0, tiny, "subnormals back on this thread");
    }
}
