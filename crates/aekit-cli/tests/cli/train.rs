//! `aekit train` of the plain autoencoders: the run folder, seeds, model checks, resuming, NaN
//! losses, validation and early stopping, config files, and the fused CPU kernels.

use super::*;

// ---------- autoencoders ----------

/// Baldi & Hornik (1989): the linear autoencoder's optimum spans the first k principal
/// components. On the embedded subset (4,000 training images), 100 epochs bring its test MSE
/// within 3% of PCA's at k = 16 and its decoder's column space within a few degrees of PCA's.
#[test]
fn linear_autoencoder_approaches_pca() {
    let t = tempfile::tempdir().unwrap();
    let o = aekit(
        t.path(),
        &["train", "--model", "linear", "--data", "mnist-embedded", "--latent", "16", "--epochs", "100", "--lr", "0.005", "--out", "lin", "--quiet"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r = report(&t.path().join("lin/report.json"));
    let c = &r["extra"]["pca_comparison"];
    let excess = c["relative_excess_mse"].as_f64().unwrap();
    let angle = c["max_principal_angle_deg"].as_f64().unwrap();
    assert!(excess < 0.03, "linear AE test MSE is {:.1}% above PCA's", excess * 100.0);
    assert!(angle < 10.0, "largest principal angle {angle} degrees");
    assert_eq!(c["k"].as_u64(), Some(16));
}

#[test]
fn training_writes_a_complete_run_folder() {
    let t = tempfile::tempdir().unwrap();
    let o = aekit(
        t.path(),
        &["train", "--model", "conv", "--data", "mnist-embedded", "--train-samples", "2000", "--test-samples", "200", "--epochs", "2", "--lr", "0.003", "--out", "run", "--quiet"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["config.json", "model.safetensors", "metrics.csv", "loss.png", "reconstruction_1.png", "reconstruction_2.png", "report.json"] {
        assert!(t.path().join("run").join(f).is_file(), "{f} missing");
    }
    let csv = std::fs::read_to_string(t.path().join("run/metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(csv.starts_with("epoch,train_loss,val_loss,val_mse,train_seconds"));
    let r = report(&t.path().join("run/report.json"));
    let mse = r["test_mse"].as_f64().unwrap();
    // Predicting the training set's mean image gives 0.0636 on these 200 test images; two
    // epochs must do far better (they reach about 0.0115).
    assert!(mse > 0.0 && mse < 0.03, "test MSE {mse}");
    assert!(r["loss"].as_str().unwrap().contains("mean per value"));
    let cfg = report(&t.path().join("run/config.json"));
    assert_eq!(cfg["model"]["model"].as_str(), Some("conv"));
    // No temporary files left behind by the atomic writes.
    assert!(std::fs::read_dir(t.path().join("run")).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().starts_with(".aekit-tmp")));
}

#[test]
fn same_seed_gives_same_numbers() {
    let t = tempfile::tempdir().unwrap();
    let run = |out: &str, seed: &str| {
        let o = aekit(
            t.path(),
            &["train", "--model", "dense", "--data", "mnist-embedded", "--train-samples", "1000", "--test-samples", "200", "--epochs", "2", "--seed", seed, "--out", out, "--quiet"],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let csv = std::fs::read_to_string(t.path().join(out).join("metrics.csv")).unwrap();
        csv.lines().skip(1).map(|l| l.split(',').take(4).collect::<Vec<_>>().join(",")).collect::<Vec<_>>()
    };
    let a = run("a", "3");
    assert_eq!(a, run("b", "3"));
    assert_ne!(a, run("c", "4"));
}

#[test]
fn conv_model_rejects_indivisible_image_size() {
    let t = tempfile::tempdir().unwrap();
    for i in 0..6 {
        write_png(&t.path().join(format!("imgs/{i}.png")), 12, 12, false);
    }
    let o = aekit(t.path(), &["train", "--model", "conv", "--data", "imgs", "--channels", "8,8,8", "--epochs", "1", "--out", "run"]);
    assert_bad_input(&o, "divisible by 8", &["12x12", "3 stride-2 layers"]);
    assert!(!t.path().join("run/model.safetensors").exists());
}

/// Only in builds without the CUDA backend (Cargo passes the package's features to its tests).
#[cfg(not(feature = "cuda"))]
#[test]
fn missing_gpu_backend_is_a_usage_error() {
    let t = tempfile::tempdir().unwrap();
    let o = aekit(t.path(), &["train", "--model", "linear", "--data", "mnist-embedded", "--device", "cuda", "--out", "run"]);
    assert_bad_input(&o, "Cuda", &["-p aekit-cli --features cuda"]);
}

// ---------- resume, NaN, validation ----------

#[test]
fn resumed_run_matches_uninterrupted_run() {
    let t = tempfile::tempdir().unwrap();
    let o = aekit(t.path(), &train_args(&["--model", "dense", "--epochs", "3", "--out", "full"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = aekit(t.path(), &train_args(&["--model", "dense", "--epochs", "1", "--out", "part"]));
    assert!(o.status.success(), "{}", stderr(&o));
    // --resume takes model, settings and data from the run's config.json.
    let o = aekit(t.path(), &["train", "--resume", "part", "--epochs", "3", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(metrics_values(&t.path().join("full/metrics.csv")), metrics_values(&t.path().join("part/metrics.csv")));
    let (a, b) = (report(&t.path().join("full/report.json")), report(&t.path().join("part/report.json")));
    assert_eq!(a["test_mse"], b["test_mse"]);
    assert!(t.path().join("part/reconstruction_3.png").is_file());
}

#[test]
fn nan_loss_stops_training_and_keeps_the_last_checkpoint() {
    let t = tempfile::tempdir().unwrap();
    let o = aekit(t.path(), &train_args(&["--model", "linear", "--latent", "8", "--epochs", "1", "--out", "run"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let weights = std::fs::read(t.path().join("run/model.safetensors")).unwrap();
    // An absurd learning rate makes the weights overflow during epoch 2.
    let o = aekit(t.path(), &["train", "--resume", "run", "--epochs", "2", "--lr", "1e30", "--quiet"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("at epoch 2") && err.contains("last good checkpoint (epoch 1"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(std::fs::read(t.path().join("run/model.safetensors")).unwrap(), weights);
    assert!(t.path().join("run/checkpoint/epoch-1/optimizer.bpk").is_file());
}

#[test]
fn validation_split_and_early_stopping() {
    let t = tempfile::tempdir().unwrap();
    // A learning rate this high makes the validation loss stall quickly.
    let o = aekit(
        t.path(),
        &train_args(&["--model", "linear", "--latent", "8", "--epochs", "60", "--lr", "0.05", "--val-fraction", "0.1", "--patience", "2", "--out", "run"]),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r = report(&t.path().join("run/report.json"));
    assert_eq!(r["n_val"].as_u64(), Some(100));
    assert_eq!(r["n_train"].as_u64(), Some(900));
    assert!(r["validation"].as_str().unwrap().contains("10% of the training set"));
    assert_eq!(r["stopped_early"].as_bool(), Some(true), "{r}");
    let epochs = r["epochs"].as_array().unwrap().len() as u64;
    assert_eq!(epochs, r["best_epoch"].as_u64().unwrap() + 2);
    assert!(std::fs::read_to_string(t.path().join("run/metrics.csv")).unwrap().starts_with("epoch,train_loss,val_loss,val_mse,train_seconds"));
}

// ---------- config files ----------

#[test]
fn config_file_supplies_options_and_the_command_line_wins() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(
        t.path().join("cfg.json"),
        r#"{"model": "dense", "data": "mnist-embedded", "train_samples": 500, "test_samples": 100, "hidden": [64], "latent": 4, "epochs": 3, "quiet": true}"#,
    )
    .unwrap();
    let o = aekit(t.path(), &["train", "--config", "cfg.json", "--epochs", "1", "--out", "run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let cfg = report(&t.path().join("run/config.json"));
    assert_eq!(cfg["model"]["hidden"], serde_json::json!([64]));
    assert_eq!(cfg["model"]["latent"].as_u64(), Some(4));
    assert_eq!(cfg["train"]["epochs"].as_u64(), Some(1));
    std::fs::write(t.path().join("bad.json"), "{\"epochs\": ").unwrap();
    let o = aekit(t.path(), &["train", "--config", "bad.json", "--out", "run2"]);
    assert_bad_input(&o, "bad.json", &["not valid JSON"]);
}

// ---------- fused and plain CPU paths ----------

/// The fused CPU kernels (conv, transposed conv with ReLU, BCE, Adam) and the plain Burn
/// operations (`AEKIT_FUSED=0`) train the same model from the same seed: same initial weights
/// (Burn draws them lazily, in the order of first use) and the same losses up to summation order.
#[test]
fn fused_and_plain_paths_train_the_same_conv_model() {
    let t = tempfile::tempdir().unwrap();
    let mut losses = Vec::new();
    for (fused, out) in [("1", "f"), ("0", "p")] {
        let args = train_args(&["--model", "conv", "--latent", "8", "--loss", "bce", "--epochs", "2", "--out", out]);
        let o = Command::new(env!("CARGO_BIN_EXE_aekit"))
            .args(&args)
            .current_dir(t.path())
            .env_remove("AEKIT_DATA")
            .env("AEKIT_CACHE", t.path().join("cache"))
            .env("AEKIT_MIRROR", "http://127.0.0.1:9/")
            .env("AEKIT_FUSED", fused)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let r = report(&t.path().join(out).join("report.json"));
        losses.push((r["epochs"][0]["train_loss"].as_f64().unwrap(), r["test_loss"].as_f64().unwrap()));
    }
    let ((a0, a1), (b0, b1)) = (losses[0], losses[1]);
    assert!((a0 - b0).abs() < 1e-5 * b0 && (a1 - b1).abs() < 1e-4 * b1, "fused {:?} vs plain {:?}", losses[0], losses[1]);
}
