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
            #[cfg(feature = "wgpu")]
            Backend::Wgpu => wgpu::device(),
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

/// Where GPU autotune results and compiled kernels are kept between runs: aekit's cache folder
/// (Burn's default is a `target/` folder above the working directory, which would write into
/// whatever Cargo project the user runs aekit from).
#[cfg(any(feature = "wgpu", feature = "cuda"))]
fn keep_gpu_cache() {
    use cubecl_runtime::config::{cache::CacheConfig, CubeClRuntimeConfig, RuntimeConfig};
    // The configuration a `cubecl.toml` and the CUBECL_* variables give, with only the default
    // cache place changed; set before any device exists (after that it is fixed, and kept).
    let mut config = CubeClRuntimeConfig::from_current_dir().override_from_env();
    if matches!(config.environment.path, CacheConfig::Target) {
        if let Some(root) = crate::io::cache_dir() {
            config.environment.path = CacheConfig::Directory(root.join("gpu"));
        }
    }
    let _ = CubeClRuntimeConfig::try_set(config);
}

/// Burn acquires CUDA devices lazily and panics when that fails; run one tiny operation with
/// panics caught (and their messages kept off the terminal) to turn that into an error.
#[cfg(feature = "cuda")]
fn probe(device: Device, msg: &str) -> Result<Device> {
    keep_gpu_cache();
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

/// The environment variable that picks the GPU convolution: `matmul` (`fused::matmul_conv`,
/// convolutions as tensor matrix products) or `burn` (Burn's kernels, the default).
pub const GPU_CONV_VAR: &str = "AEKIT_GPU_CONV";

/// Whether `AEKIT_GPU_CONV` asks for the matrix-product convolutions, or `Err` with the message
/// for a value that is neither `matmul` nor `burn` (unset or empty: Burn's). A GPU device is
/// refused for such a value (`wgpu`).
pub fn gpu_conv_matmul() -> std::result::Result<bool, String> {
    match std::env::var(GPU_CONV_VAR) {
        Err(_) => Ok(false),
        Ok(v) => match v.trim().to_ascii_lowercase().as_str() {
            "matmul" => Ok(true),
            "burn" | "" => Ok(false),
            other => Err(format!("{other:?}: expected matmul or burn")),
        },
    }
}

/// Acquiring a wgpu device: an explicit graphics API (Vulkan, Metal or DX12 by platform), never
/// wgpu's automatic chain, whose last resort is a GL context that on a machine without a GPU
/// panicked ("Could not lock adapter context") and then hung.
#[cfg(feature = "wgpu")]
pub mod wgpu {
    use std::sync::OnceLock;

    use burn::tensor::wgpu::WgpuBackend;

    use super::Device;
    use crate::error::{Error, Result};

    /// The environment variable that picks the graphics API (`vulkan`, `metal`, `dx12`, `gl`).
    pub const API_VAR: &str = "AEKIT_WGPU_API";

    /// The adapter a process's wgpu device came up on.
    #[derive(Debug, Clone)]
    pub struct Adapter {
        pub name: String,
        /// `vulkan`, `metal`, `dx12` or `gl`.
        pub api: String,
        /// Whether the driver runs on the CPU (Mesa's lavapipe/llvmpipe, SwiftShader, WARP).
        pub software: bool,
    }

    /// One device per process: Burn refuses to initialise a runtime twice, and a second
    /// command in the same process (the server, the test suite) must get the same one.
    static DEVICE: OnceLock<std::result::Result<(Device, Adapter), String>> = OnceLock::new();

    /// The graphics APIs tried, in order: `AEKIT_WGPU_API` when set, else the platform's own.
    fn apis() -> Result<Vec<WgpuBackend>> {
        // Checked here, where a GPU is asked for: an unknown value would otherwise be ignored.
        if let Err(msg) = super::gpu_conv_matmul() {
            return Err(Error::arg(super::GPU_CONV_VAR, msg));
        }
        if let Ok(v) = std::env::var(API_VAR) {
            let api = match v.trim().to_ascii_lowercase().as_str() {
                "vulkan" => WgpuBackend::Vulkan,
                "metal" => WgpuBackend::Metal,
                "dx12" => WgpuBackend::Dx12,
                "gl" | "opengl" => WgpuBackend::Gl,
                other => return Err(Error::arg(API_VAR, format!("{other:?}: expected vulkan, metal, dx12 or gl"))),
            };
            return Ok(vec![api]);
        }
        Ok(if cfg!(target_os = "macos") {
            vec![WgpuBackend::Metal]
        } else if cfg!(target_os = "windows") {
            vec![WgpuBackend::Dx12, WgpuBackend::Vulkan]
        } else {
            vec![WgpuBackend::Vulkan]
        })
    }

    fn api_name(api: WgpuBackend) -> &'static str {
        match api {
            WgpuBackend::Vulkan => "vulkan",
            WgpuBackend::Metal => "metal",
            WgpuBackend::Dx12 => "dx12",
            WgpuBackend::Gl => "gl",
            _ => "other",
        }
    }

    fn acquire() -> std::result::Result<(Device, Adapter), String> {
        let apis = apis().map_err(|e| e.to_string())?;
        super::keep_gpu_cache();
        let mut tried = Vec::new();
        for api in apis {
            match Device::wgpu_options().graphics_api(api).init_with_setup() {
                Ok((device, setup)) => {
                    let info = setup.adapter.get_info();
                    let software = info.device_type == burn::tensor::wgpu::wgpu::DeviceType::Cpu;
                    return Ok((device, Adapter { name: info.name, api: api_name(api).into(), software }));
                }
                Err(e) => tried.push(format!("{}: {e}", api_name(api))),
            }
        }
        Err(format!(
            "wgpu: no usable GPU adapter ({}); a Vulkan, Metal or DX12 driver is needed (on Linux: the \
             Vulkan loader, Debian's libvulkan1, and the GPU driver's Vulkan ICD; Mesa's software \
             driver, mesa-vulkan-drivers, runs on the CPU); {API_VAR}=gl asks for OpenGL",
            tried.join("; ")
        ))
    }

    /// The process's wgpu device, acquired on first use.
    pub fn device() -> Result<Device> {
        match DEVICE.get_or_init(acquire) {
            Ok((d, _)) => Ok(d.clone()),
            Err(msg) => Err(Error::arg("device", msg.clone())),
        }
    }

    /// The adapter of the device [`device`] gave, if one was acquired.
    pub fn adapter() -> Option<Adapter> {
        DEVICE.get().and_then(|r| r.as_ref().ok()).map(|(_, a)| a.clone())
    }
}
