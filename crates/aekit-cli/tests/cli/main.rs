//! Integration tests: each runs the real `aekit` binary in its own temporary folder. They form
//! one test binary with a module per command.
//!
//! Tests that need the full MNIST read it from `$AEKIT_DATA` (the folder holding `mnist/`, taken
//! from the workspace root when relative). They are `#[ignore]`d, so a plain `cargo test` lists
//! them as ignored rather than passed; `.ci/run` sets `AEKIT_DATA` to `../shared/data` and runs
//! them with `--include-ignored`. Run without `AEKIT_DATA`, they fail.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod anomaly;
mod data;
mod demo;
mod features;
mod gpu;
mod pca;
mod photos;
mod python;
mod restore;
mod run_use;
mod serve;
mod train;
mod vae;

fn aekit(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aekit"))
        .args(args)
        .current_dir(dir)
        .env_remove("AEKIT_DATA")
        .env_remove("AEKIT_MIRROR")
        // Never touch the user's cache or the network unless a test says so.
        .env("AEKIT_CACHE", dir.join("cache"))
        .env("AEKIT_MIRROR", "http://127.0.0.1:9/")
        .output()
        .expect("run aekit")
}

fn aekit_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_aekit"));
    c.args(args).current_dir(dir).env_remove("AEKIT_DATA").env("AEKIT_CACHE", dir.join("cache"));
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run aekit")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts exit status 2 with an error that names `name` and contains every `needle`.
fn assert_bad_input(o: &Output, name: &str, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "expected exit 2, got {:?}; stderr: {err}", o.status.code());
    assert!(!err.contains("panicked"), "panic: {err}");
    assert!(err.contains(name), "error does not name {name:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "error lacks {n:?}: {err}");
    }
}

/// The folder holding `mnist/` that `$AEKIT_DATA` names. Panics when it is unset or has no
/// `mnist/`: only the `#[ignore]`d full-MNIST tests call this.
fn shared_mnist() -> PathBuf {
    let Some(d) = std::env::var_os("AEKIT_DATA") else {
        panic!("AEKIT_DATA is not set: set it to the folder holding mnist/ (.ci/run uses ../shared/data) to run the full-MNIST tests");
    };
    let d = PathBuf::from(d);
    // Relative to the workspace root, where `cargo test` and `.ci/run` are started.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let d = if d.is_absolute() { d } else { root.join(d) };
    assert!(d.join("mnist").is_dir(), "AEKIT_DATA={} has no mnist/ folder", d.display());
    d
}

fn report(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn write_png(path: &Path, w: u32, h: u32, rgb: bool) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    if rgb {
        image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 20) as u8, (y * 20) as u8, 100])).save(path).unwrap();
    } else {
        image::GrayImage::from_fn(w, h, |x, y| image::Luma([((x + y) * 10) as u8])).save(path).unwrap();
    }
}

/// `aekit train` on 1000 training and 300 test images of the embedded subset, quietly.
fn train_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["train", "--data", "mnist-embedded", "--train-samples", "1000", "--test-samples", "300", "--quiet"];
    v.extend_from_slice(extra);
    v
}

fn metrics_values(path: &Path) -> Vec<String> {
    // Everything but the timing column.
    std::fs::read_to_string(path).unwrap().lines().map(|l| l.split(',').take(4).collect::<Vec<_>>().join(",")).collect()
}
