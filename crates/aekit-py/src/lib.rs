//! `aekit._aekit`: the native half of the Python package, thin over the aekit library. Arrays
//! cross as NumPy arrays (C-contiguous float32 are read in place); the GIL is released while a
//! model trains or runs; Ctrl-C stops training between batches (KeyboardInterrupt), keeping a
//! named run folder's last complete checkpoint; aekit's bad-input errors become ValueError with the
//! library's message.
//!
//! The scikit-learn and PyOD interfaces are Python (`python/aekit`), over these functions.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aekit::apps::anomaly::{self, FitOptions};
use aekit::apps::endpoint::{Endpoint, FlagRule, Route};
use aekit::data::{Dataset, SampleShape, Split};
use aekit::device::Device;
use aekit::pca::{NComponents, PcaParams, Solver};
use aekit::train::run::Checkpoints;
use aekit::train::{Observer, TrainConfig, TrainRequest};
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

fn to_py(e: aekit::Error) -> PyErr {
    match e {
        aekit::Error::Interrupted => PyKeyboardInterrupt::new_err("training interrupted (a run_dir you named keeps its last complete checkpoint)"),
        e if e.is_bad_input() => PyValueError::new_err(e.to_string()),
        e => PyRuntimeError::new_err(e.to_string()),
    }
}

/// The values of a C-contiguous `[n, p]` float32 array, read in place.
fn matrix<'a>(x: &'a PyReadonlyArray2<'_, f32>, what: &str) -> PyResult<(&'a [f32], usize, usize)> {
    let [n, p] = [x.shape()[0], x.shape()[1]];
    let s = x.as_slice().map_err(|_| PyValueError::new_err(format!("{what}: expected a C-contiguous float32 array")))?;
    Ok((s, n, p))
}

fn check_finite(x: &[f32], p: usize, what: &str) -> PyResult<()> {
    if let Some(i) = aekit::linalg::first_non_finite(x) {
        return Err(PyValueError::new_err(format!("{what}: sample {}, value {} is {}; expected finite numbers", i / p.max(1), i % p.max(1), x[i])));
    }
    Ok(())
}

fn flat<'py>(py: Python<'py>, v: Vec<f32>, n: usize, p: usize) -> PyResult<Bound<'py, PyAny>> {
    Ok(PyArray1::from_vec(py, v).reshape([n, p])?.into_any())
}

/// Fits PCA on `x` `[n, p]`: a dict of scikit-learn's fitted attributes.
#[pyfunction]
#[pyo3(signature = (x, n_components=None, fraction=None, whiten=false, solver="exact", seed=0, n_oversamples=10, n_iter=None))]
#[allow(clippy::too_many_arguments)]
fn pca_fit<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f32>,
    n_components: Option<usize>,
    fraction: Option<f64>,
    whiten: bool,
    solver: &str,
    seed: u64,
    n_oversamples: usize,
    n_iter: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let (xs, _n, p) = matrix(&x, "X")?;
    let nc = match (n_components, fraction) {
        (Some(k), _) => NComponents::Count(k),
        (None, Some(f)) => NComponents::VarianceFraction(f),
        (None, None) => NComponents::All,
    };
    let mut params = PcaParams::new(nc);
    params.whiten = whiten;
    params.seed = seed;
    params.n_oversamples = n_oversamples;
    params.n_iter = n_iter;
    params.solver = match solver {
        "exact" => Solver::Exact,
        "randomized" => Solver::Randomized,
        other => return Err(PyValueError::new_err(format!("invalid svd_solver: {other:?}; expected 'exact' or 'randomized'"))),
    };
    let pca = py.allow_threads(|| params.fit(xs, p)).map_err(to_py)?;
    let d = PyDict::new(py);
    let k = pca.n_components();
    d.set_item("components_", flat(py, pca.components().to_vec(), k, p)?)?;
    d.set_item("explained_variance_", PyArray1::from_slice(py, pca.explained_variance()))?;
    d.set_item("explained_variance_ratio_", PyArray1::from_slice(py, pca.explained_variance_ratio()))?;
    d.set_item("singular_values_", PyArray1::from_slice(py, pca.singular_values()))?;
    d.set_item("mean_", PyArray1::from_slice(py, pca.mean()))?;
    d.set_item("noise_variance_", pca.noise_variance())?;
    d.set_item("n_samples_", pca.n_samples())?;
    Ok(d)
}

/// Checks Python's signal handlers every 100 ms of training (with the GIL taken back briefly).
struct Interruptible {
    last: Instant,
    error: Option<PyErr>,
}

impl Observer for Interruptible {
    fn stop_requested(&mut self) -> bool {
        if self.last.elapsed() < Duration::from_millis(100) {
            return false;
        }
        self.last = Instant::now();
        Python::with_gil(|py| match py.check_signals() {
            Ok(()) => false,
            Err(e) => {
                self.error = Some(e);
                true
            }
        })
    }
}

fn sample_shape(shape: &[usize]) -> PyResult<SampleShape> {
    match *shape {
        [features] => Ok(SampleShape::Tabular { features }),
        [channels, height, width] => Ok(SampleShape::Image { channels, height, width }),
        _ => Err(PyValueError::new_err(format!("sample shape {shape:?}: expected [features] or [channels, height, width]"))),
    }
}

/// Trains a model on `x` into the run folder `out` (an anomaly detector when `anomaly` holds
/// its options as JSON); `options` (ModelOptions) and `train` (TrainConfig fields) are JSON
/// objects over the library's defaults. Returns the report as JSON.
///
/// A `temporary` run folder (an estimator's own, deleted with it) is written after the last
/// epoch only and without syncing files to disk; a folder the user named gets the command
/// line's checkpoint after every epoch.
#[pyfunction]
#[pyo3(signature = (x, shape, out, model=None, options="{}", train="{}", anomaly=None, labels=None, feature_names=None, temporary=false))]
#[allow(clippy::too_many_arguments)]
fn fit_run(
    py: Python<'_>,
    x: PyReadonlyArray2<'_, f32>,
    shape: Vec<usize>,
    out: PathBuf,
    model: Option<String>,
    options: &str,
    train: &str,
    anomaly: Option<&str>,
    labels: Option<PyReadonlyArray1<'_, u32>>,
    feature_names: Option<Vec<String>>,
    temporary: bool,
) -> PyResult<String> {
    let checkpoints = if temporary { Checkpoints::Final } else { Checkpoints::EveryEpoch };
    let (xs, n, p) = matrix(&x, "X")?;
    let shape = sample_shape(&shape)?;
    if shape.len() != p {
        return Err(PyValueError::new_err(format!("X has {p} values per sample; the sample shape {:?} has {}", shape.dims(), shape.len())));
    }
    check_finite(xs, p, "X")?;
    let labels = match &labels {
        Some(l) => Some(l.as_slice().map_err(|_| PyValueError::new_err("labels: expected a contiguous uint32 array"))?.to_vec()),
        None => None,
    };
    let opts: aekit::models::ModelOptions = serde_json::from_str(options).map_err(|e| PyValueError::new_err(format!("model options: {e}")))?;
    let mut cfg = serde_json::to_value(TrainConfig::new()).map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    let given: serde_json::Value = serde_json::from_str(train).map_err(|e| PyValueError::new_err(format!("training options: {e}")))?;
    if let (Some(c), Some(g)) = (cfg.as_object_mut(), given.as_object()) {
        for (k, v) in g {
            if !c.contains_key(k) {
                return Err(PyValueError::new_err(format!("unknown training option {k:?}")));
            }
            c.insert(k.clone(), v.clone());
        }
    }
    let mut train_cfg: TrainConfig = serde_json::from_value(cfg).map_err(|e| PyValueError::new_err(format!("training options: {e}")))?;
    // The anomaly detector's epochs and batch size depend on the data (`anomaly fit`'s defaults).
    if anomaly.is_some() {
        if given.get("batch_size").is_none() {
            train_cfg.batch_size = anomaly::default_batch_size(shape, false);
        }
        if given.get("epochs").is_none() {
            train_cfg.epochs = anomaly::default_epochs(shape, false);
        }
    }
    let fit_opts: Option<FitOptions> = match anomaly {
        Some(a) => {
            let v: serde_json::Value = serde_json::from_str(a).map_err(|e| PyValueError::new_err(format!("anomaly options: {e}")))?;
            let f = |k: &str, d: f64| v.get(k).and_then(|x| x.as_f64()).unwrap_or(d);
            Some(FitOptions {
                contamination: f("contamination", 0.1),
                alpha: f("alpha", 0.05),
                calibration_fraction: f("calibration_fraction", 0.2),
                seed: train_cfg.seed,
                checkpoints,
                ..FitOptions::default()
            })
        }
        None => None,
    };
    let fit = || -> Result<String, (aekit::Error, Option<PyErr>)> {
        let device = Device::flex();
        let mut ds = Dataset::new(xs.to_vec(), shape, labels).map_err(|e| (e, None))?;
        ds.feature_names = feature_names;
        let split = Split { test: ds.head(0), train: ds, val: None, patches: None };
        let name = model.clone().unwrap_or_else(|| match fit_opts {
            Some(_) => anomaly::default_model(shape).to_string(),
            None => "dense".to_string(),
        });
        let model_opts = if fit_opts.is_some() { anomaly::sized_options(shape, &name, &opts, false) } else { opts.clone() };
        let model_cfg = aekit::models::registry::build(&name, shape, &model_opts).map_err(|e| (e, None))?;
        let request = TrainRequest::new(model_cfg, train_cfg.clone()).with_data(serde_json::json!({ "data": "python", "n": n }));
        let mut obs = Interruptible { last: Instant::now(), error: None };
        let report = match &fit_opts {
            Some(f) => anomaly::fit(&request, &split, f, &device, &out, &mut obs).and_then(|r| serde_json::to_string(&r).map_err(|e| aekit::Error::Numerical(e.to_string()))),
            None => aekit::apps::train_run_with(&request, &split, &device, &out, &mut obs, checkpoints)
                .and_then(|r| serde_json::to_string(&r.report).map_err(|e| aekit::Error::Numerical(e.to_string()))),
        };
        report.map_err(|e| (e, obs.error.take()))
    };
    let result = py.allow_threads(|| if temporary { aekit::io::without_sync(fit) } else { fit() });
    match result {
        Ok(r) => Ok(r),
        Err((_, Some(py_err))) => Err(py_err),
        Err((e, None)) => Err(to_py(e)),
    }
}

/// A run opened for inference (`aekit.load`, and every fitted estimator).
#[pyclass(name = "Endpoint", module = "aekit._aekit")]
struct PyEndpoint {
    inner: Mutex<Endpoint>,
    info: String,
}

/// Rows per forward pass: memory stays bounded whatever the number of rows.
const CHUNK: usize = 4096;

#[pymethods]
impl PyEndpoint {
    #[staticmethod]
    fn open(py: Python<'_>, path: PathBuf, name: Option<String>) -> PyResult<Self> {
        let name = name.unwrap_or_else(|| path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_else(|| "run".into()));
        let ep = py.allow_threads(|| Endpoint::open(&name, &path, &Device::flex())).map_err(to_py)?;
        let info = serde_json::to_string(ep.info()).map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        Ok(PyEndpoint { inner: Mutex::new(ep), info })
    }

    /// The model's description (`GET /v1/models` of `aekit serve`), as JSON.
    fn info(&self) -> String {
        self.info.clone()
    }

    /// Runs a row route (`encode`, `decode`, `reconstruct`, `score`) on `x` `[n, p]`: a dict of
    /// arrays (`codes`, `outputs`, `errors`, `scores`, `p_values` (NaN without calibration),
    /// `flags`).
    #[pyo3(signature = (route, x, alpha=None))]
    fn rows<'py>(&self, py: Python<'py>, route: &str, x: PyReadonlyArray2<'py, f32>, alpha: Option<f64>) -> PyResult<Bound<'py, PyDict>> {
        let r = Route::parse(route).filter(|r| r.is_batched()).ok_or_else(|| PyValueError::new_err(format!("{route:?}: expected encode, decode, reconstruct or score")))?;
        let (xs, n, p) = matrix(&x, "X")?;
        check_finite(xs, p, "X")?;
        let outs = py
            .allow_threads(|| -> aekit::Result<Vec<aekit::apps::endpoint::FlatRows>> {
                let ep = self.inner.lock().unwrap_or_else(|e| e.into_inner());
                let want = ep.row_len(r)?;
                if p != want {
                    return Err(aekit::Error::InvalidArgument { name: "X", msg: format!("X has {p} features, but the model takes {want}") });
                }
                xs.chunks(CHUNK * p.max(1)).map(|chunk| ep.rows_flat(r, chunk.to_vec(), chunk.len() / p.max(1), FlagRule { alpha })).collect()
            })
            .map_err(to_py)?;
        let d = PyDict::new(py);
        let mut codes = Vec::new();
        let mut outputs = Vec::new();
        let (mut errors, mut scores, mut pvals, mut flags) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut width = 0;
        for o in outs {
            width = o.width.max(width);
            if let Some(c) = o.codes {
                codes.extend(c);
            }
            if let Some(v) = o.outputs {
                outputs.extend(v);
            }
            errors.extend(o.errors.unwrap_or_default());
            scores.extend(o.scores.unwrap_or_default());
            pvals.extend(o.p_values.unwrap_or_default().into_iter().map(|p| p.unwrap_or(f64::NAN)));
            flags.extend(o.flags.unwrap_or_default());
        }
        match r {
            Route::Encode => d.set_item("codes", flat(py, codes, n, width)?)?,
            Route::Decode | Route::Reconstruct => d.set_item("outputs", flat(py, outputs, n, width)?)?,
            _ => {}
        }
        if r == Route::Reconstruct {
            d.set_item("errors", PyArray1::from_vec(py, errors))?;
        }
        if r == Route::Score {
            d.set_item("scores", PyArray1::from_vec(py, scores))?;
            d.set_item("p_values", PyArray1::from_vec(py, pvals))?;
            d.set_item("flags", PyArray1::from_vec(py, flags))?;
        }
        Ok(d)
    }

    /// `n` decoded draws from a VAE's prior, `[n, p]`.
    #[pyo3(signature = (n, seed=0, temperature=1.0))]
    fn sample<'py>(&self, py: Python<'py>, n: usize, seed: u64, temperature: f64) -> PyResult<Bound<'py, PyAny>> {
        let out = py
            .allow_threads(|| self.inner.lock().unwrap_or_else(|e| e.into_inner()).sample(n, seed, temperature))
            .map_err(to_py)?;
        let v = out.outputs.unwrap_or_default();
        let p = v.first().map(Vec::len).unwrap_or(0);
        flat(py, v.into_iter().flatten().collect(), n, p)
    }
}

#[pymodule]
fn _aekit(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(pca_fit, m)?)?;
    m.add_function(wrap_pyfunction!(fit_run, m)?)?;
    m.add_class::<PyEndpoint>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
