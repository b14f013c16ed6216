//! Choosing where tensors live: Flex on the CPU by default, wgpu or CUDA when compiled in.

use burn::prelude::*;

use crate::error::{Error, Result};

/// A compute backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// Burn's pure-Rust Flex backend.
    #[default]
    Cpu,
    /// Any Vulkan, Metal or DX12 GPU (cargo feature `wgpu`).
    Wgpu,
    /// NVIDIA GPUs (cargo feature `cuda`).
    Cuda,
}

impl Backend {
    /// The device of this backend, or an error naming the cargo feature to enable.
    pub fn device(self) -> Result<Device> {
        match self {
            #[cfg(feature = "flex")]
            Backend::Cpu => Ok(Device::flex()),
            #[cfg(feature = "wgpu")]
            Backend::Wgpu => Ok(Device::wgpu(DeviceKind::DefaultDevice)),
            #[cfg(feature = "cuda")]
            Backend::Cuda => Ok(Device::cuda(0)),
            #[allow(unreachable_patterns)]
            other => Err(Error::arg(
                "device",
                format!("{other:?}: this aekit was built without it; rebuild with `cargo build --release --features {}`", other.feature()),
            )),
        }
    }

    fn feature(self) -> &'static str {
        match self {
            Backend::Cpu => "flex",
            Backend::Wgpu => "wgpu",
            Backend::Cuda => "cuda",
        }
    }
}
