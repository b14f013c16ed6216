//! The wgpu backend. Without the `wgpu` feature only the refusal is tested. With it (`.ci/run`
//! builds it into a target folder of its own and installs Mesa's software Vulkan driver,
//! lavapipe), the tests train on `--device wgpu` and compare with the CPU path, so they need a
//! Vulkan driver: lavapipe where there is no GPU.

use super::*;

/// Only in builds without the wgpu backend.
#[cfg(not(feature = "wgpu"))]
#[test]
fn missing_wgpu_backend_is_a_usage_error() {
    let t = tempfile::tempdir().unwrap();
    let o = aekit(t.path(), &["train", "--model", "linear", "--data", "mnist-embedded", "--device", "wgpu", "--out", "run"]);
    assert_bad_input(&o, "Wgpu", &["-p aekit-cli --features wgpu"]);
    assert!(!t.path().join("run").exists());
}

#[cfg(feature = "wgpu")]
mod wgpu {
    use super::*;

    /// A machine with no Vulkan driver: the loader is pointed at a driver file that does not
    /// exist, which is what a GPU-less machine without Mesa looks like to wgpu.
    const NO_DRIVER: [(&str, &str); 2] = [("VK_DRIVER_FILES", "/nonexistent/aekit-no-driver.json"), ("VK_ICD_FILENAMES", "/nonexistent/aekit-no-driver.json")];

    #[test]
    fn no_gpu_exits_2_within_seconds_without_a_panic() {
        let t = tempfile::tempdir().unwrap();
        let t0 = std::time::Instant::now();
        let o = aekit_env(t.path(), &["train", "--model", "linear", "--data", "mnist-embedded", "--device", "wgpu", "--out", "run"], &NO_DRIVER);
        let secs = t0.elapsed().as_secs_f64();
        assert_bad_input(&o, "device", &["no usable GPU adapter", "vulkan"]);
        assert!(secs < 10.0, "took {secs:.1} s");
        assert!(!t.path().join("run").exists(), "a run folder was started");
    }

    #[test]
    fn an_unknown_graphics_api_is_a_usage_error() {
        let t = tempfile::tempdir().unwrap();
        let o = aekit_env(t.path(), &["train", "--model", "linear", "--data", "mnist-embedded", "--device", "wgpu", "--out", "run"], &[("AEKIT_WGPU_API", "glide")]);
        assert_bad_input(&o, "AEKIT_WGPU_API", &["glide", "vulkan"]);
    }

    #[test]
    fn an_unknown_gpu_convolution_is_a_usage_error() {
        let t = tempfile::tempdir().unwrap();
        let o = aekit_env(t.path(), &["train", "--model", "linear", "--data", "mnist-embedded", "--device", "wgpu", "--out", "run"], &[("AEKIT_GPU_CONV", "im2col")]);
        assert_bad_input(&o, "AEKIT_GPU_CONV", &["im2col", "matmul or burn"]);
        assert!(!t.path().join("run").exists(), "a run folder was started");
    }

    fn train_losses(dir: &Path, run: &str) -> (Vec<f64>, f64) {
        let r = report(&dir.join(run).join("report.json"));
        let epochs = r["epochs"].as_array().expect("epochs").iter().map(|e| e["train_loss"].as_f64().expect("train_loss")).collect();
        (epochs, r["test_mse"].as_f64().expect("test_mse"))
    }

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * a.abs().max(b.abs())
    }

    /// Relative tolerance between devices: the same seed gives the same initial weights and
    /// batches (weights are drawn on the CPU and moved), so what differs is only the order of
    /// floating-point sums in the kernels.
    const TOL: f64 = 1e-3;

    fn small(model: &[&str], device: &str, epochs: &str, out: &str) -> Vec<String> {
        let mut v: Vec<String> = ["train", "--data", "mnist-embedded", "--train-samples", "256", "--test-samples", "64", "--batch-size", "64", "--quiet", "--seed", "3"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.extend(model.iter().map(|s| s.to_string()));
        v.extend(["--device", device, "--epochs", epochs, "--out", out].iter().map(|s| s.to_string()));
        v
    }

    fn run(dir: &Path, args: &[String]) {
        run_env(dir, args, &[]);
    }

    fn run_env(dir: &Path, args: &[String], env: &[(&str, &str)]) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = aekit_env(dir, &args, env);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    }

    fn matches_cpu(model: &[&str]) {
        matches_cpu_with(model, &[]);
    }

    /// `model` trained on the CPU and on wgpu (with `gpu_env` set) gives the same losses.
    fn matches_cpu_with(model: &[&str], gpu_env: &[(&str, &str)]) {
        let t = tempfile::tempdir().unwrap();
        run(t.path(), &small(model, "cpu", "2", "cpu"));
        run_env(t.path(), &small(model, "wgpu", "2", "gpu"), gpu_env);
        let (cpu, cpu_mse) = train_losses(t.path(), "cpu");
        let (gpu, gpu_mse) = train_losses(t.path(), "gpu");
        assert_eq!(cpu.len(), 2);
        for (c, g) in cpu.iter().zip(&gpu) {
            assert!(close(*c, *g, TOL), "{model:?}: train loss cpu {cpu:?} vs wgpu {gpu:?}");
        }
        assert!(close(cpu_mse, gpu_mse, TOL), "{model:?}: test MSE cpu {cpu_mse} vs wgpu {gpu_mse}");
        // Training did something: the second epoch's loss is below the first's.
        assert!(gpu[1] < gpu[0], "{gpu:?}");
    }

    #[test]
    fn dense_on_wgpu_matches_cpu() {
        matches_cpu(&["--model", "dense", "--hidden", "64", "--latent", "8"]);
    }

    #[test]
    fn conv_on_wgpu_matches_cpu() {
        matches_cpu(&["--model", "conv", "--channels", "8,16", "--latent", "8"]);
    }

    /// `AEKIT_GPU_CONV=matmul` (convolutions as matrix products on the GPU): the conv model's
    /// stride-2 and transposed layers train as on the CPU, and the photo denoiser's stride-1
    /// layers restore the same pixels.
    #[test]
    fn matmul_convolutions_on_wgpu_match_cpu() {
        let env = [("AEKIT_GPU_CONV", "matmul")];
        matches_cpu_with(&["--model", "conv", "--channels", "8,16", "--latent", "8"], &env);
        denoiser_matches_cpu(&env);
    }

    #[test]
    fn vae_on_wgpu_matches_cpu() {
        matches_cpu(&["--model", "vae", "--hidden", "64", "--latent", "4"]);
    }

    /// A run started on one device continues on the other: the checkpoint (weights and Adam's
    /// state) is device-independent.
    #[test]
    fn resume_crosses_devices() {
        let t = tempfile::tempdir().unwrap();
        let model = ["--model", "dense", "--hidden", "64", "--latent", "8"];
        run(t.path(), &small(&model, "cpu", "2", "full"));
        for (first, then) in [("cpu", "wgpu"), ("wgpu", "cpu")] {
            let out = format!("{first}-{then}");
            run(t.path(), &small(&model, first, "1", &out));
            let args: Vec<String> = ["train", "--resume", &out, "--epochs", "2", "--device", then, "--quiet"].iter().map(|s| s.to_string()).collect();
            run(t.path(), &args);
            let (full, full_mse) = train_losses(t.path(), "full");
            let (resumed, mse) = train_losses(t.path(), &out);
            assert_eq!(resumed.len(), 2, "{out}");
            for (a, b) in full.iter().zip(&resumed) {
                assert!(close(*a, *b, TOL), "{out}: {full:?} vs {resumed:?}");
            }
            assert!(close(full_mse, mse, TOL), "{out}: test MSE {full_mse} vs {mse}");
        }
    }

    /// The built-in photo denoiser restores a picture on wgpu as on the CPU: the same 8-bit
    /// pixels but for roundings (at most 1 of 255).
    #[test]
    fn photo_denoiser_on_wgpu_matches_cpu() {
        denoiser_matches_cpu(&[]);
    }

    /// `photo-denoise` on the CPU and on wgpu (with `gpu_env` set): at most 1 of 255 apart.
    fn denoiser_matches_cpu(gpu_env: &[(&str, &str)]) {
        let t = tempfile::tempdir().unwrap();
        write_png(&t.path().join("in/pic.png"), 40, 24, true);
        for (dev, env) in [("cpu", &[][..]), ("wgpu", gpu_env)] {
            let o = aekit_env(t.path(), &["denoise", "--model", "photo-denoise", "--input", "in", "--out", dev, "--device", dev], env);
            assert!(o.status.success(), "{dev}: {}", stderr(&o));
        }
        let a = image::open(t.path().join("cpu/pic.png")).unwrap().to_rgb8();
        let b = image::open(t.path().join("wgpu/pic.png")).unwrap().to_rgb8();
        assert_eq!(a.dimensions(), b.dimensions());
        let worst = a.as_raw().iter().zip(b.as_raw()).map(|(x, y)| x.abs_diff(*y)).max().unwrap();
        assert!(worst <= 1, "pixels differ by up to {worst}");
    }
}
