//! Choosing where tensors live: Flex on the CPU by default, wgpu or CUDA when compiled in.

#[cfg(feature = "cuda")]
use burn::prelude::Tensor;

/// The device type every model function takes.
pub use burn::prelude::Device;

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
            // Fallible initialisation: a machine without a usable Vulkan/Metal/DX12 adapter gets
            // an error, not the panic the lazy `Device::wgpu` gives on first use.
            #[cfg(feature = "wgpu")]
            Backend::Wgpu => Device::wgpu_options().init().map_err(|e| {
                Error::arg("device", format!("wgpu: no usable GPU adapter ({e:?}); a Vulkan, Metal or DX12 driver (for NVIDIA on Linux: libvulkan1 and the driver's Vulkan ICD) is needed"))
            }),
            #[cfg(feature = "cuda")]
            Backend::Cuda => probe(Device::cuda(0), "cuda: no usable CUDA device (NVIDIA driver and CUDA toolkit needed)"),
            #[allow(unreachable_patterns)]
            other => Err(Error::arg(
                "device",
                format!("{other:?}: this aekit was built without it; rebuild with `cargo build --release -p aekit-cli --features {}`", other.feature()),
            )),
        }
    }

    #[allow(dead_code)]
    fn feature(self) -> &'static str {
        match self {
            Backend::Cpu => "flex",
            Backend::Wgpu => "wgpu",
            Backend::Cuda => "cuda",
        }
    }
}

/// Burn acquires CUDA devices lazily and panics when that fails; run one tiny operation with
/// panics caught (and their messages kept off the terminal) to turn that into an error.
#[cfg(feature = "cuda")]
fn probe(device: Device, msg: &str) -> Result<Device> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let ok = std::panic::catch_unwind(|| Tensor::<1>::ones([1], &device).into_scalar::<f32>()).is_ok();
    std::panic::set_hook(hook);
    if ok {
        Ok(device)
    } else {
        Err(Error::arg("device", msg.to_string()))
    }
}
