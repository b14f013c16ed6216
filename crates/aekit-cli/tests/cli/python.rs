//! The Python package's own tests (pytest, `crates/aekit-py/tests`), run from `cargo test` so the
//! README's one test command covers them: build the extension into a virtual environment outside
//! the repository with maturin (incremental, the workspace's target folder), then run pytest
//! against this build's `aekit` binary (run folders go both ways).
//!
//! The environment is `$AEKIT_PY_VENV`, default `~/.cache/aekit/py-venv`; it is made (and
//! `crates/aekit-py/requirements-test.txt` installed) when missing, which needs the package
//! index once. `.ci/run` makes it before the tests.

use super::*;

fn venv() -> PathBuf {
    match std::env::var_os("AEKIT_PY_VENV") {
        Some(v) => PathBuf::from(v),
        None => PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/aekit/py-venv"),
    }
}

fn run(cmd: &mut Command, what: &str) {
    let o = cmd.output().unwrap_or_else(|e| panic!("{what}: cannot start ({e})"));
    assert!(
        o.status.success(),
        "{what} failed ({:?}):\n{}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
#[ignore = "builds the Python package with maturin and runs pytest (Spark and Ray included); .ci/run prepares its venv"]
fn python_package_tests_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap();
    let venv = venv();
    let py = venv.join("bin/python");
    if !py.is_file() {
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv), "python3 -m venv");
        run(Command::new(&py).args(["-m", "pip", "install", "-q", "-r"]).arg(root.join("crates/aekit-py/requirements-test.txt")), "pip install");
    }
    run(
        Command::new(venv.join("bin/maturin"))
            .args(["develop", "--release", "--quiet", "-m"])
            .arg(root.join("crates/aekit-py/Cargo.toml"))
            .env("VIRTUAL_ENV", &venv)
            .current_dir(&root),
        "maturin develop",
    );
    run(
        Command::new(&py)
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "crates/aekit-py/tests"])
            .env("AEKIT_BIN", env!("CARGO_BIN_EXE_aekit"))
            .env_remove("AEKIT_DATA")
            .current_dir(&root),
        "pytest crates/aekit-py/tests",
    );
}
