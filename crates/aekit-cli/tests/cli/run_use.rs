//! Using a trained run: `encode`, `decode` and `reconstruct`, and runs or data that do not
//! match.

use super::*;

#[test]
fn encode_decode_reconstruct_a_run() {
    let t = tempfile::tempdir().unwrap();
    let o = aekit(t.path(), &train_args(&["--model", "sparse", "--latent", "16", "--epochs", "1", "--out", "run"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let data = ["--data", "mnist-embedded", "--test-samples", "300", "--quiet"];
    fn with<'a>(cmd: &[&'a str], data: &[&'a str]) -> Vec<&'a str> {
        let mut v: Vec<&str> = cmd.to_vec();
        v.extend_from_slice(data);
        v
    }
    let o = aekit(t.path(), &with(&["encode", "--run", "run", "--out", "z.csv"], &data));
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = std::fs::read_to_string(t.path().join("z.csv")).unwrap();
    assert_eq!(csv.lines().count(), 301);
    assert!(csv.lines().next().unwrap().ends_with("z15,label"));
    assert!(csv.lines().nth(1).unwrap().ends_with(",7"), "first test label is 7");
    let o = aekit(t.path(), &with(&["encode", "--run", "run", "--out", "z.npy"], &data));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(t.path().join("z_labels.npy").is_file());
    let o = aekit(t.path(), &["decode", "--run", "run", "--latents", "z.npy", "--out", "dec", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(t.path().join("dec/decoded.png").is_file() && t.path().join("dec/decoded_0299.png").is_file());
    let o = aekit(t.path(), &with(&["reconstruct", "--run", "run", "--out", "rec"], &data));
    assert!(o.status.success(), "{}", stderr(&o));
    let errors = std::fs::read_to_string(t.path().join("rec/errors.csv")).unwrap();
    assert_eq!(errors.lines().count(), 301);
    // The mean of the per-sample errors is the test MSE the training report gave.
    let (rec, trained) = (report(&t.path().join("rec/report.json")), report(&t.path().join("run/report.json")));
    let (a, b) = (rec["mse"].as_f64().unwrap(), trained["test_mse"].as_f64().unwrap());
    assert!((a - b).abs() < 1e-6 * b.max(1.0), "{a} vs {b}");
    assert!(t.path().join("rec/reconstruction.png").is_file());
}

#[test]
fn mismatched_runs_and_data_are_exit_2() {
    let t = tempfile::tempdir().unwrap();
    let o = aekit(t.path(), &train_args(&["--model", "linear", "--latent", "8", "--epochs", "1", "--out", "run"]));
    assert!(o.status.success(), "{}", stderr(&o));
    // Latent vectors of the wrong width.
    std::fs::write(t.path().join("z.csv"), "z0,z1\n0.5,0.25\n").unwrap();
    let o = aekit(t.path(), &["decode", "--run", "run", "--latents", "z.csv", "--out", "dec"]);
    assert_bad_input(&o, "z.csv", &["2 values", "has 8"]);
    // Data of another shape.
    std::fs::write(t.path().join("t.csv"), "a,b\n1,2\n3,4\n5,6\n7,8\n9,10\n").unwrap();
    let o = aekit(t.path(), &["reconstruct", "--run", "run", "--data", "t.csv", "--out", "rec"]);
    assert_bad_input(&o, "1x28x28 image", &["2 features"]);
    // A config.json that disagrees with the weights.
    let cfg = std::fs::read_to_string(t.path().join("run/config.json")).unwrap();
    std::fs::write(t.path().join("run/config.json"), cfg.replace("\"latent\": 8", "\"latent\": 9")).unwrap();
    let o = aekit(t.path(), &["encode", "--run", "run", "--data", "mnist-embedded", "--out", "z2.csv"]);
    assert_bad_input(&o, "model.safetensors", &["weights do not match config.json", "[784, 8]", "[784, 9]"]);
    assert!(!t.path().join("z2.csv").exists());
    let o = aekit(t.path(), &["encode", "--run", "run", "--data", "mnist-embedded", "--out", "z.parquet"]);
    assert_bad_input(&o, "z.parquet", &["Parquet is not supported"]);
}
