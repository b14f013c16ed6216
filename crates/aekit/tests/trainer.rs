//! The trainer through the library API, without the program: in-memory training, the run
//! folder observer, resume, the NaN stop, early stopping and each objective. Data: the MNIST
//! subset compiled into aekit (no files, no network).

use std::path::Path;

use aekit::data::degrade::{Corruption, Downscale};
use aekit::data::{builtin::embedded_mnist, Split};
use aekit::device::Device;
use aekit::models::{registry, ModelOptions};
use aekit::train::objective::{Denoise, Objective, Superres};
use aekit::train::run::{self, ResumeOptions, Run};
use aekit::train::{fit, EpochEnd, Observer, Silent, TrainConfig, TrainRequest};

/// Burn seeds one random generator per process and `fused::set_enabled` is process-wide, so
/// trainings in parallel test threads would draw each other's initial weights: each test
/// trains under this lock.
static TRAINING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    TRAINING.lock().unwrap_or_else(|e| e.into_inner())
}

fn small(train: usize, test: usize) -> Split {
    let s = embedded_mnist().expect("the embedded subset");
    Split { train: s.train.head(train), test: s.test.head(test), val: None, patches: None }
}

fn request(model: &str, split: &Split, train: TrainConfig) -> TrainRequest {
    let opts = ModelOptions { latent: Some(8), hidden: Some(vec![32]), ..ModelOptions::default() };
    let model = registry::build(model, split.train.shape(), &opts).expect("a registered model");
    TrainRequest::new(model, train).with_data(serde_json::json!({ "data": "mnist-embedded" }))
}

/// Everything in a history but the timings.
fn losses(h: &[aekit::train::EpochStats]) -> Vec<(usize, f64, f64, f64)> {
    h.iter().map(|s| (s.epoch, s.train_loss, s.val_loss, s.val_mse)).collect()
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// Counts what the trainer tells an observer.
#[derive(Default)]
struct Count {
    starts: usize,
    batches: usize,
    ends: Vec<usize>,
}

impl Observer for Count {
    fn epoch_start(&mut self, _: usize, _: usize, _: usize) {
        self.starts += 1;
    }
    fn batch(&mut self, _: usize, _: f64) {
        self.batches += 1;
    }
    fn epoch_end(&mut self, end: &EpochEnd<'_>) -> aekit::Result<()> {
        self.ends.push(end.stats().epoch);
        Ok(())
    }
}

#[test]
fn in_memory_training_writes_nothing_and_tells_the_observer() {
    let _serial = serial();
    let split = small(600, 100);
    let dir = tempfile::tempdir().unwrap();
    let before = files(dir.path());
    let mut count = Count::default();
    let cwd_before = files(Path::new("."));
    let f = fit(&request("dense", &split, TrainConfig::new().with_epochs(2).with_batch_size(100)), &split, &Device::flex(), &mut count).unwrap();
    assert_eq!((count.starts, count.batches, count.ends.clone()), (2, 12, vec![1, 2]));
    assert_eq!(f.report.epochs.len(), 2);
    assert!(f.report.test_mse.is_finite() && f.report.test_mse > 0.0);
    assert!(f.report.epochs[1].val_loss < f.report.epochs[0].val_loss, "{:?}", losses(&f.report.epochs));
    assert_eq!(files(dir.path()), before);
    assert_eq!(files(Path::new(".")), cwd_before, "fit wrote into the working folder");
}

#[test]
fn same_request_same_numbers_in_memory_and_through_the_run_folder() {
    let _serial = serial();
    let split = small(500, 100);
    let req = request("dense", &split, TrainConfig::new().with_epochs(2).with_seed(7));
    let device = Device::flex();
    let a = fit(&req, &split, &device, &mut Silent).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let b = run::train(&req, &split, &device, dir.path(), &mut Silent).unwrap();
    assert_eq!(losses(&a.report.epochs), losses(&b.report.epochs));
    assert_eq!(a.report.test_mse, b.report.test_mse);
    for f in ["config.json", "model.safetensors", "metrics.csv", "loss.png", "reconstruction_2.png", "checkpoint"] {
        assert!(dir.path().join(f).exists(), "{f} missing");
    }
    // The folder loads back with the same request and weights.
    let run = Run::open(dir.path(), &device).unwrap();
    assert_eq!(run.request.model.name(), "dense");
    assert_eq!(run.request.train.seed, 7);
    let eval = aekit::train::evaluate(&run.model, &run.request.objective, &split.test, &device, 1000);
    assert!((eval.mse - b.report.test_mse).abs() < 1e-9, "{} vs {}", eval.mse, b.report.test_mse);
}

#[test]
fn resumed_run_equals_uninterrupted_run() {
    let _serial = serial();
    let split = small(500, 100);
    let device = Device::flex();
    let full_dir = tempfile::tempdir().unwrap();
    let part_dir = tempfile::tempdir().unwrap();
    let full = run::train(&request("dense", &split, TrainConfig::new().with_epochs(3)), &split, &device, full_dir.path(), &mut Silent).unwrap();
    run::train(&request("dense", &split, TrainConfig::new().with_epochs(1)), &split, &device, part_dir.path(), &mut Silent).unwrap();
    let resumed_req = ResumeOptions { epochs: Some(3), lr: None }.apply(run::read_request(part_dir.path()).unwrap());
    let resumed = run::resume(&resumed_req, &split, &device, part_dir.path(), &mut Silent).unwrap();
    assert_eq!(losses(&full.report.epochs), losses(&resumed.report.epochs));
    assert_eq!(full.report.test_mse, resumed.report.test_mse);
    assert!(part_dir.path().join("checkpoint/epoch-3/optimizer.bpk").is_file());
    assert!(!part_dir.path().join("checkpoint/epoch-1").exists(), "older checkpoints are removed");
}

/// What a checkpoint policy leaves in the run folder at each epoch's end (the writer runs
/// before this observer).
struct Watch<'a> {
    dir: &'a Path,
    seen: Vec<(usize, bool, bool)>,
}

impl Observer for Watch<'_> {
    fn epoch_end(&mut self, end: &EpochEnd<'_>) -> aekit::Result<()> {
        let epoch = end.stats().epoch;
        let written = self.dir.join("model.safetensors").is_file() && self.dir.join(format!("checkpoint/epoch-{epoch}")).is_dir();
        self.seen.push((epoch, end.last, written));
        Ok(())
    }
}

#[test]
fn final_checkpoints_write_the_run_folder_after_the_last_epoch_only() {
    let _serial = serial();
    let split = small(300, 100);
    let device = Device::flex();
    let req = request("dense", &split, TrainConfig::new().with_epochs(3));
    let (every, last) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut watch = Watch { dir: every.path(), seen: Vec::new() };
    let a = run::train_with(&req, &split, &device, every.path(), &mut watch, run::Checkpoints::EveryEpoch).unwrap();
    assert_eq!(watch.seen, vec![(1, false, true), (2, false, true), (3, true, true)]);
    let mut watch = Watch { dir: last.path(), seen: Vec::new() };
    let b = run::train_with(&req, &split, &device, last.path(), &mut watch, run::Checkpoints::Final).unwrap();
    assert_eq!(watch.seen, vec![(1, false, false), (2, false, false), (3, true, true)]);
    // The same training either way, and the same files at the end but the earlier epochs'
    // figures.
    assert_eq!(losses(&a.report.epochs), losses(&b.report.epochs));
    let earlier = |f: &String| f.starts_with("reconstruction_") && !f.ends_with("_3.png");
    let every_files: Vec<String> = files(every.path()).into_iter().filter(|f| !earlier(f)).collect();
    assert!(files(every.path()).len() > every_files.len(), "per-epoch figures were written every epoch");
    assert_eq!(every_files, files(last.path()));
    let csv = std::fs::read_to_string(last.path().join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "a header and the three epochs:\n{csv}");
}

#[test]
fn a_nan_loss_stops_training_and_keeps_the_last_checkpoint() {
    let _serial = serial();
    let split = small(300, 100);
    let device = Device::flex();
    let dir = tempfile::tempdir().unwrap();
    run::train(&request("linear", &split, TrainConfig::new().with_epochs(1)), &split, &device, dir.path(), &mut Silent).unwrap();
    let weights = std::fs::read(dir.path().join("model.safetensors")).unwrap();
    let req = ResumeOptions { epochs: Some(2), lr: Some(1e30) }.apply(run::read_request(dir.path()).unwrap());
    let err = match run::resume(&req, &split, &device, dir.path(), &mut Silent) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("training at lr 1e30 finished"),
    };
    assert!(err.contains("at epoch 2") && err.contains("last good checkpoint (epoch 1)"), "{err}");
    assert!(err.contains(&dir.path().display().to_string()), "the error names the run folder: {err}");
    assert_eq!(std::fs::read(dir.path().join("model.safetensors")).unwrap(), weights);
    assert!(dir.path().join("checkpoint/epoch-1/optimizer.bpk").is_file());
    assert!(!dir.path().join("checkpoint/epoch-2").exists());
}

#[test]
fn early_stopping_ends_patience_epochs_after_the_best() {
    let _serial = serial();
    let split = small(1000, 100);
    // A learning rate this high makes the validation loss stall quickly.
    let cfg = TrainConfig::new().with_epochs(60).with_lr(0.05).with_val_fraction(0.1).with_patience(Some(2));
    let f = fit(&request("linear", &split, cfg), &split, &Device::flex(), &mut Silent).unwrap();
    let r = &f.report;
    assert!(r.stopped_early, "{:?}", losses(&r.epochs));
    assert_eq!(r.epochs.len(), r.best_epoch + 2);
    assert_eq!((r.n_train, r.n_val), (900, 100));
    assert!(r.validation.contains("10% of the training set"), "{}", r.validation);
}

#[test]
fn each_objective_trains_its_model_beyond_the_degraded_input() {
    let _serial = serial();
    let split = small(800, 100);
    let device = Device::flex();
    let shape = split.train.shape();
    let noisy = |sigma: f64| Objective::Denoise(Denoise::new(vec![Corruption::Gaussian { sigma }]).unwrap());
    let build = |name: &str, scale: Option<usize>| {
        let o = ModelOptions { channels: Some(vec![16, 16]), scale, ..ModelOptions::default() };
        registry::build(name, shape, &o).unwrap()
    };
    let sub = build("subpixel", Some(2));
    let cases = [
        ("reconstruct", build("conv", None), Objective::Reconstruct),
        ("denoise", build("dae", None), noisy(0.5)),
        ("superres", sub.clone(), Objective::Superres(Superres::for_model(2, Downscale::Area, &sub).unwrap())),
    ];
    for (what, model, objective) in cases {
        // What the model starts from: the degraded test input against the clean target (for
        // super-resolution, its nearest upscaling).
        let mut rng = aekit::rng::stream(aekit::train::objective::EVAL_SEED, 0);
        let degraded = objective.display(&objective.degrade(split.test.data(), shape, &mut rng), shape);
        let input_mse = aekit::metrics::mse(split.test.data(), &degraded);
        let req = TrainRequest::new(model, TrainConfig::new().with_epochs(3).with_batch_size(32).with_lr(3e-3)).with_objective(objective);
        let f = fit(&req, &split, &device, &mut Silent).unwrap();
        let mse = f.report.test_mse;
        if what == "reconstruct" {
            assert_eq!(input_mse, 0.0);
            // Predicting the mean image gives about 0.065 on these images.
            assert!(mse < 0.04, "{what}: test MSE {mse}");
        } else {
            assert!(mse < input_mse, "{what}: test MSE {mse} is not below the degraded input's {input_mse}");
        }
    }
}

#[test]
fn a_request_that_does_not_fit_the_data_is_refused_before_writing() {
    let _serial = serial();
    let split = small(100, 50);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut req = request("dense", &split, TrainConfig::new());
    req.model = registry::build("dense", aekit::data::SampleShape::Tabular { features: 30 }, &ModelOptions::default()).unwrap();
    let err = run::train(&req, &split, &Device::flex(), &out, &mut Silent).err().expect("a shape mismatch");
    assert!(err.is_bad_input(), "{err}");
    assert!(err.to_string().contains("30 features"), "{err}");
    assert!(!out.exists(), "nothing is written before the check");
}

#[test]
fn a_validation_set_given_apart_is_what_training_validates_on() {
    let _serial = serial();
    let s = embedded_mnist().unwrap();
    let split = Split { train: s.train.head(500), test: s.test.head(100), val: Some(s.test.select(&(100..160).collect::<Vec<_>>())), patches: None };
    let cfg = TrainConfig::new().with_epochs(1).with_val_fraction(0.2);
    let f = fit(&request("dense", &split, cfg), &split, &Device::flex(), &mut Silent).unwrap();
    // The given set wins over --val-fraction: all 500 training samples train.
    assert_eq!((f.report.n_train, f.report.n_val), (500, 60));
    assert!(f.report.validation.contains("given apart (60 samples)"), "{}", f.report.validation);
}
