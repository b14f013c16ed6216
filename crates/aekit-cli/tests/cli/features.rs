//! `aekit features`: latent codes as features for classification.

use super::*;

/// A linear autoencoder's code spans (nearly) PCA's subspace (Baldi & Hornik 1989), so the same
/// classifier on its 16-d code and on PCA-16 features must score alike, far above chance.
#[test]
fn features_of_a_small_run_beat_chance_and_the_report_has_every_row() {
    let t = tempfile::tempdir().unwrap();
    let data = ["--data", "mnist-embedded", "--test-samples", "300", "--quiet"];
    let mut args = vec!["train", "--model", "linear", "--latent", "16", "--epochs", "10", "--lr", "0.005", "--out", "run"];
    args.extend_from_slice(&data);
    let o = aekit(t.path(), &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = aekit(
        t.path(),
        &["features", "--run", "run", "--data", "mnist-embedded", "--test-samples", "300", "--labels-per-class", "10,50", "--draws", "2", "--out", "feat"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    for needle in ["linear latent (16-d)", "PCA-16", "raw values (784)", "10 labels/class", "50 labels/class", "all 4000 labels"] {
        assert!(out.contains(needle), "table lacks {needle:?}:\n{out}");
    }
    let r = report(&t.path().join("feat/report.json"));
    assert_eq!((r["n_train"].as_u64(), r["n_test"].as_u64(), r["latent_dim"].as_u64()), (Some(4000), Some(300), Some(16)));
    assert!(r["classifier"].as_str().unwrap().contains("standardized"));
    let rows = r["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 9, "3 feature sets x (10, 50, all labels): {rows:?}");
    let mut all_labels = std::collections::HashMap::new();
    for row in rows {
        let (features, n) = (row["features"].as_str().unwrap(), row["labels_per_class"].as_u64());
        let accs = row["accuracies"].as_array().unwrap();
        assert_eq!(accs.len(), if n.is_some() { 2 } else { 1 }, "{row}");
        assert_eq!(row["n_labelled"].as_u64(), Some(n.map_or(4000, |n| 10 * n)), "{row}");
        assert!(row["converged"].as_bool().unwrap(), "{row}");
        // Chance is 10%; even 10 labels per class give far more (about 70% here).
        let acc = row["accuracy_mean"].as_f64().unwrap();
        assert!(acc > 0.5, "{features} with {n:?} labels/class: accuracy {acc}");
        if n.is_none() {
            all_labels.insert(features.to_string(), acc);
        }
    }
    // About 87% (latent), 85% (PCA-16) and 91% (raw pixels) with all 4000 labels.
    assert!(all_labels.values().all(|&a| a > 0.8), "{all_labels:?}");
    assert!((all_labels["latent"] - all_labels["pca"]).abs() < 0.05, "{all_labels:?}");
}

/// `--val-fraction` judges settings without the test set: the accuracies are measured on a seeded
/// part of the training set that PCA and the classifiers did not see, whatever the test set is.
#[test]
fn features_with_a_validation_fraction_never_use_the_test_set() {
    let t = tempfile::tempdir().unwrap();
    let o = aekit(t.path(), &["train", "--model", "linear", "--latent", "16", "--epochs", "5", "--lr", "0.005", "--data", "mnist-embedded", "--out", "run", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // A 5-sample test set: were it used, n_test would be 5.
    let args = ["features", "--run", "run", "--data", "mnist-embedded", "--test-samples", "5", "--labels-per-class", "10", "--draws", "1", "--val-fraction", "0.25"];
    let o = aekit(t.path(), &[&args[..], &["--out", "a"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("held-out 25% of the training set"), "{}", String::from_utf8_lossy(&o.stdout));
    let r = report(&t.path().join("a/report.json"));
    assert_eq!((r["n_train"].as_u64(), r["n_test"].as_u64()), (Some(3000), Some(1000)));
    assert!(r["evaluated_on"].as_str().unwrap().contains("test set is not used"), "{}", r["evaluated_on"]);
    for row in r["rows"].as_array().unwrap() {
        assert!(row["accuracy_mean"].as_f64().unwrap() > 0.5, "{row}");
    }
    // Seeded: the same command gives the same figures; another seed holds out other samples.
    let o = aekit(t.path(), &[&args[..], &["--out", "b"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let accs = |r: &serde_json::Value| -> Vec<serde_json::Value> { r["rows"].as_array().unwrap().iter().map(|row| row["accuracies"].clone()).collect() };
    assert_eq!(accs(&report(&t.path().join("b/report.json"))), accs(&r));
    let o = aekit(t.path(), &[&args[..], &["--out", "c", "--seed", "1"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_ne!(report(&t.path().join("c/report.json"))["rows"][2]["accuracies"], r["rows"][2]["accuracies"]);
    // --latent-only: the latent rows alone, the same figures.
    let o = aekit(t.path(), &[&args[..], &["--out", "e", "--latent-only"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let e = report(&t.path().join("e/report.json"));
    assert_eq!(e["rows"].as_array().unwrap().len(), 2, "{e}");
    assert_eq!(accs(&e)[..], accs(&r)[..2]);
    let o = aekit(t.path(), &["features", "--run", "run", "--data", "mnist-embedded", "--val-fraction", "1.5", "--out", "d", "--quiet"]);
    assert_bad_input(&o, "val-fraction", &["1.5"]);
    assert!(!t.path().join("d/report.json").exists());
}

/// Features from a conv bottleneck trained to undo random shifts and occluding blocks (the
/// denoise task's shift:PIXELS and block:SIZE corruptions) on real digits; its code feeds
/// `features`, and malformed sizes are exit 2.
#[test]
fn conv_bottleneck_learns_from_shifted_and_occluded_digits() {
    let t = tempfile::tempdir().unwrap();
    let o = aekit(t.path(), &train_args(&["--model", "conv", "--channels", "4,8", "--latent", "8", "--task", "denoise", "--noise", "shift:3,block:6", "--epochs", "2", "--out", "run"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let cfg = report(&t.path().join("run/config.json"));
    assert_eq!(cfg["task"]["noise"], serde_json::json!([{"kind": "shift", "pixels": 3}, {"kind": "block", "size": 6}]));
    let m = metrics_values(&t.path().join("run/metrics.csv"));
    let loss = |l: &str| l.split(',').nth(1).unwrap().parse::<f64>().unwrap();
    assert!(loss(&m[2]) < loss(&m[1]), "training loss falls: {m:?}");
    let o = aekit(t.path(), &["features", "--run", "run", "--data", "mnist-embedded", "--test-samples", "300", "--labels-per-class", "10", "--draws", "1", "--latent-only", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = report(&t.path().join("run/features/report.json"));
    assert_eq!(r["latent_dim"].as_u64(), Some(8));
    // Well above chance (10%) even after 2 epochs of a tiny model on 1000 images (about 45%).
    assert!(r["rows"][1]["accuracy_mean"].as_f64().unwrap() > 0.3, "{r}");
    // Not fully convolutional (a dense bottleneck): no self-ensemble.
    image::GrayImage::from_fn(28, 28, |x, y| image::Luma([((x * 9 + y * 5) % 256) as u8])).save(t.path().join("digit.png")).unwrap();
    let o = aekit(t.path(), &["denoise", "--run", "run", "--input", "digit.png", "--out", "d", "--self-ensemble"]);
    // Refused for the model, before any image is read.
    assert_bad_input(&o, "self-ensemble", &["the conv model", "not fully convolutional"]);
    assert!(!t.path().join("d").exists());
    for bad in ["shift:1.5", "block:-2"] {
        let o = aekit(t.path(), &train_args(&["--model", "conv", "--latent", "8", "--task", "denoise", "--noise", bad, "--out", "x"]));
        assert_bad_input(&o, "noise", &["whole number of pixels"]);
    }
}

#[test]
fn features_without_labels_or_with_too_many_per_class_are_exit_2() {
    let t = tempfile::tempdir().unwrap();
    // 60 rows of 4 features, classes 0, 1, 2 (20 each); the same rows without the class column.
    let (mut labelled, mut bare) = (String::from("a,b,c,d,class\n"), String::from("a,b,c,d\n"));
    for i in 0..60 {
        let (c, v) = (i % 3, (i as f32 * 0.37).sin());
        let x = format!("{},{},{},{}", c as f32 + v, v, 1.0 - v, c as f32 * v);
        labelled.push_str(&format!("{x},{c}\n"));
        bare.push_str(&format!("{x}\n"));
    }
    std::fs::write(t.path().join("labelled.csv"), labelled).unwrap();
    std::fs::write(t.path().join("bare.csv"), bare).unwrap();
    let o = aekit(t.path(), &["train", "--model", "dense", "--data", "labelled.csv", "--label-column", "class", "--hidden", "8", "--latent", "2", "--epochs", "1", "--out", "run", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = aekit(t.path(), &["features", "--run", "run", "--data", "bare.csv", "--quiet"]);
    assert_bad_input(&o, "labels", &["data"]);
    assert!(!t.path().join("run/features/report.json").exists());
    // The training set holds 48 of the 60 rows: no class has 30.
    let o = aekit(t.path(), &["features", "--run", "run", "--data", "labelled.csv", "--label-column", "class", "--labels-per-class", "5,30", "--quiet"]);
    assert_bad_input(&o, "labels-per-class", &["30", "smallest class"]);
    assert!(!t.path().join("run/features/report.json").exists());
}
