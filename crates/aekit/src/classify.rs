//! Multinomial logistic regression with scikit-learn's semantics, for judging features by how
//! well a linear classifier separates the classes.
//!
//! [`LogisticParams::fit`] standardizes the features with the training set's mean and standard
//! deviation (scikit-learn's `StandardScaler`: population deviation, zero-variance features
//! left unscaled) and minimises the objective of `LogisticRegression(C)` (multinomial, L2):
//!
//! `sum_i CE_i + 1/(2C) ||W||^2`, intercepts unpenalized,
//!
//! divided by n as scikit-learn does (same minimiser, tolerances independent of n). The problem is
//! strictly convex in W, so any solver run to a tight tolerance finds scikit-learn's solution;
//! this one is L-BFGS with a More-Thuente line search (argmin), the gradient from two dense
//! products per evaluation (faer, multithreaded).

use std::cell::RefCell;

use argmin::core::{CostFunction, Executor, Gradient, State, TerminationReason};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, Par};

use crate::error::{Error, Result};

/// Hyper-parameters; [`LogisticParams::fit`] turns them into a fitted [`Logistic`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogisticParams {
    /// Inverse L2 strength, as scikit-learn's `C` (default 1.0).
    pub c: f64,
    /// Stop when the Euclidean norm of the gradient of the objective divided by n is below this.
    pub tol: f64,
    /// Most L-BFGS iterations.
    pub max_iter: u64,
    /// L-BFGS history length.
    pub memory: usize,
}

impl Default for LogisticParams {
    fn default() -> Self {
        LogisticParams { c: 1.0, tol: 1e-6, max_iter: 2000, memory: 10 }
    }
}

impl LogisticParams {
    pub fn c(mut self, c: f64) -> Self {
        self.c = c;
        self
    }

    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }

    pub fn max_iter(mut self, max_iter: u64) -> Self {
        self.max_iter = max_iter;
        self
    }

    /// Fits on `x`, `[n, p]` row-major, with integer labels `y` (`[n]`; any values, at least
    /// two distinct).
    pub fn fit(&self, x: &[f32], p: usize, y: &[u32]) -> Result<Logistic> {
        let n = check_rows(x, p)?;
        if y.len() != n {
            return Err(Error::Shape(format!("{n} samples but {} labels", y.len())));
        }
        if !(self.c > 0.0 && self.c.is_finite()) {
            return Err(Error::arg("C", format!("{}: expected a positive number", self.c)));
        }
        let mut classes: Vec<u32> = y.to_vec();
        classes.sort_unstable();
        classes.dedup();
        if classes.len() < 2 {
            return Err(Error::arg("labels", format!("logistic regression needs at least 2 classes, got {classes:?}")));
        }
        let k = classes.len();
        let yi: Vec<usize> = y.iter().map(|l| classes.binary_search(l).unwrap_or(0)).collect();
        let (mean, scale) = standardization(x, n, p);
        let xs = Mat::<f64>::from_fn(n, p, |i, j| (x[i * p + j] as f64 - mean[j]) / scale[j]);
        let problem = Objective::new(xs.as_ref(), &yi, k, 1.0 / (self.c * n as f64));
        let solver = LBFGS::new(MoreThuenteLineSearch::new(), self.memory)
            .with_tolerance_grad(self.tol)
            .and_then(|s| s.with_tolerance_cost(0.0))
            .map_err(|e| Error::Numerical(format!("L-BFGS settings: {e}")))?;
        let init = vec![0f64; p * k + k];
        let run = Executor::new(&problem, solver).configure(|s| s.param(init).max_iters(self.max_iter)).run();
        let (n_iter, reason) = match &run {
            Ok(r) => (r.state.get_iter(), r.state.get_termination_reason().cloned()),
            Err(_) => (0, None),
        };
        // The problem remembers its best evaluation: a line search that fails at the last
        // digits (rounding) still leaves that point, which is reported with its gradient norm.
        let best = problem.best.borrow_mut().take().ok_or_else(|| match run {
            Err(e) => Error::Numerical(format!("logistic regression: {e}")),
            Ok(_) => Error::Numerical("logistic regression evaluated nothing".into()),
        })?;
        if !best.cost.is_finite() {
            return Err(Error::Numerical(format!("logistic regression: objective {} is not finite", best.cost)));
        }
        let grad_norm = best.grad.iter().map(|g| g * g).sum::<f64>().sqrt();
        let mut w = best.param;
        // The softmax is unchanged when the same constant is added to every intercept; report
        // the centred representative (scikit-learn's lbfgs keeps their sum at zero).
        let b_mean = w[p * k..].iter().sum::<f64>() / k as f64;
        w[p * k..].iter_mut().for_each(|b| *b -= b_mean);
        Ok(Logistic {
            classes,
            p,
            coef: w[..p * k].to_vec(),
            intercept: w[p * k..].to_vec(),
            mean,
            scale,
            n_iter,
            converged: grad_norm < self.tol || matches!(reason, Some(TerminationReason::SolverConverged)),
            grad_norm,
            objective: best.cost,
        })
    }
}

fn check_rows(x: &[f32], p: usize) -> Result<usize> {
    if p == 0 || x.len() % p != 0 {
        return Err(Error::Shape(format!("{} values are not rows of {p} features", x.len())));
    }
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        return Err(Error::arg("features", format!("value {} at sample {}, feature {} is not finite", x[i], i / p, i % p)));
    }
    Ok(x.len() / p)
}

/// Column means and population standard deviations; deviations that are zero up to rounding
/// become 1, as in scikit-learn's `_handle_zeros_in_scale`.
fn standardization(x: &[f32], n: usize, p: usize) -> (Vec<f64>, Vec<f64>) {
    let mut mean = vec![0f64; p];
    for row in x.chunks_exact(p) {
        mean.iter_mut().zip(row).for_each(|(m, &v)| *m += v as f64);
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let mut var = vec![0f64; p];
    for row in x.chunks_exact(p) {
        for ((v, &xv), m) in var.iter_mut().zip(row).zip(&mean) {
            *v += (xv as f64 - m) * (xv as f64 - m);
        }
    }
    let scale = var
        .iter()
        .zip(&mean)
        .map(|(v, m)| {
            let s = (v / n as f64).sqrt();
            if s < 10.0 * f64::EPSILON * m.abs().max(1.0) {
                1.0
            } else {
                s
            }
        })
        .collect();
    (mean, scale)
}

/// One evaluation of the objective at `param`.
#[derive(Clone)]
struct Eval {
    param: Vec<f64>,
    cost: f64,
    grad: Vec<f64>,
}

/// The scaled objective `(1/n) sum_i CE_i + alpha/2 ||W||^2` (alpha = 1/(C n)) over the
/// parameter vector `[W (p x k, column-major), b (k)]`.
struct Objective<'a> {
    /// Standardized features, `[n, p]`.
    x: MatRef<'a, f64>,
    /// Class index of each sample, `[n]`.
    y: &'a [usize],
    k: usize,
    alpha: f64,
    /// The last evaluation: argmin asks for the cost and the gradient at the same point
    /// separately, and both come from the same two products.
    last: RefCell<Option<Eval>>,
    best: RefCell<Option<Eval>>,
}

impl<'a> Objective<'a> {
    fn new(x: MatRef<'a, f64>, y: &'a [usize], k: usize, alpha: f64) -> Self {
        Objective { x, y, k, alpha, last: RefCell::new(None), best: RefCell::new(None) }
    }

    fn eval(&self, w: &[f64]) -> Eval {
        if let Some(e) = self.last.borrow().as_ref().filter(|e| e.param == w) {
            return e.clone();
        }
        let (n, p, k) = (self.x.nrows(), self.x.ncols(), self.k);
        let (wm, b) = w.split_at(p * k);
        // Logits z = X W + b, [n, k]; then z becomes (softmax(z) - onehot(y)) / n, the gradient
        // of the mean cross-entropy with respect to the logits.
        let mut z = Mat::<f64>::zeros(n, k);
        matmul(z.as_mut(), Accum::Replace, self.x, MatRef::from_column_major_slice(wm, p, k), 1.0, Par::rayon(0));
        let mut loss = 0.0;
        let mut row = vec![0f64; k];
        for (i, &yi) in self.y.iter().enumerate() {
            for (c, (r, bc)) in row.iter_mut().zip(b).enumerate() {
                *r = z[(i, c)] + bc;
            }
            let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = row.iter().map(|v| (v - max).exp()).sum();
            let lse = max + sum.ln();
            loss += lse - row[yi];
            for (c, r) in row.iter().enumerate() {
                z[(i, c)] = ((r - lse).exp() - f64::from(u8::from(c == yi))) / n as f64;
            }
        }
        let mut grad = vec![0f64; p * k + k];
        let (gw, gb) = grad.split_at_mut(p * k);
        matmul(MatMut::from_column_major_slice_mut(gw, p, k), Accum::Replace, self.x.transpose(), z.as_ref(), 1.0, Par::rayon(0));
        for (c, g) in gb.iter_mut().enumerate() {
            *g = z.col(c).iter().sum();
        }
        let mut penalty = 0.0;
        for (g, &v) in gw.iter_mut().zip(wm) {
            *g += self.alpha * v;
            penalty += v * v;
        }
        let e = Eval { param: w.to_vec(), cost: loss / n as f64 + 0.5 * self.alpha * penalty, grad };
        let mut best = self.best.borrow_mut();
        if best.as_ref().is_none_or(|b| e.cost < b.cost) {
            *best = Some(e.clone());
        }
        *self.last.borrow_mut() = Some(e.clone());
        e
    }
}

impl CostFunction for &Objective<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, w: &Vec<f64>) -> std::result::Result<f64, argmin::core::Error> {
        Ok(self.eval(w).cost)
    }
}

impl Gradient for &Objective<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, w: &Vec<f64>) -> std::result::Result<Vec<f64>, argmin::core::Error> {
        Ok(self.eval(w).grad)
    }
}

/// A fitted classifier. Coefficients act on standardized features.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Logistic {
    /// The label of each class, ascending.
    pub classes: Vec<u32>,
    /// Features.
    pub p: usize,
    /// Weights, `[k, p]` as scikit-learn's `coef_` (column c of W is row c here).
    #[serde(skip)]
    coef: Vec<f64>,
    /// Intercepts, `[k]`, centred to sum to zero.
    pub intercept: Vec<f64>,
    /// Training means and standard deviations used to standardize, `[p]` each.
    #[serde(skip)]
    mean: Vec<f64>,
    #[serde(skip)]
    scale: Vec<f64>,
    /// L-BFGS iterations.
    pub n_iter: u64,
    /// Whether the gradient norm reached the tolerance.
    pub converged: bool,
    /// Euclidean norm of the gradient of the objective / n at the solution.
    pub grad_norm: f64,
    /// Objective / n at the solution: mean cross-entropy + ||W||^2 / (2 C n).
    pub objective: f64,
}

impl Logistic {
    /// Weight of feature `j` (standardized) for class index `c`.
    pub fn coef(&self, c: usize, j: usize) -> f64 {
        self.coef[c * self.p + j]
    }

    /// Logits, `[n, k]` row-major.
    pub fn decision_function(&self, x: &[f32]) -> Result<Vec<f64>> {
        let n = check_rows(x, self.p)?;
        let (p, k) = (self.p, self.classes.len());
        let xs = Mat::<f64>::from_fn(n, p, |i, j| (x[i * p + j] as f64 - self.mean[j]) / self.scale[j]);
        let mut z = Mat::<f64>::zeros(n, k);
        matmul(z.as_mut(), Accum::Replace, xs.as_ref(), MatRef::from_column_major_slice(&self.coef, p, k), 1.0, Par::rayon(0));
        Ok((0..n).flat_map(|i| (0..k).map(move |c| (i, c))).map(|(i, c)| z[(i, c)] + self.intercept[c]).collect())
    }

    /// Class probabilities, `[n, k]` row-major, columns in the order of `classes`.
    pub fn predict_proba(&self, x: &[f32]) -> Result<Vec<f64>> {
        let mut z = self.decision_function(x)?;
        for row in z.chunks_exact_mut(self.classes.len()) {
            let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            row.iter_mut().for_each(|v| *v = (*v - max).exp());
            let s: f64 = row.iter().sum();
            row.iter_mut().for_each(|v| *v /= s);
        }
        Ok(z)
    }

    /// The most probable label of each sample, `[n]`.
    pub fn predict(&self, x: &[f32]) -> Result<Vec<u32>> {
        let z = self.decision_function(x)?;
        Ok(z.chunks_exact(self.classes.len())
            .map(|row| {
                let best = row.iter().enumerate().fold(0, |b, (c, v)| if *v > row[b] { c } else { b });
                self.classes[best]
            })
            .collect())
    }

    /// Fraction of samples whose predicted label equals `y`.
    pub fn accuracy(&self, x: &[f32], y: &[u32]) -> Result<f64> {
        let pred = self.predict(x)?;
        if pred.len() != y.len() {
            return Err(Error::Shape(format!("{} samples but {} labels", pred.len(), y.len())));
        }
        Ok(accuracy(&pred, y))
    }
}

/// Fraction of equal entries (0 for empty input).
pub fn accuracy(pred: &[u32], truth: &[u32]) -> f64 {
    let hits = pred.iter().zip(truth).filter(|(a, b)| a == b).count();
    hits as f64 / pred.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::builtin::embedded_mnist;
    use crate::pca::{NComponents, PcaParams};

    // Standardized PCA-10 features of the embedded subset (MNIST's first 4000 training and 1000
    // test images), scikit-learn 1.9.1, float64:
    // >>> Xtr, Xte = (first 4000 / 1000 images as float64) / 255
    // >>> pca = PCA(n_components=10, svd_solver="full").fit(Xtr)
    // >>> sc = StandardScaler().fit(pca.transform(Xtr))
    // >>> clf = LogisticRegression(C=1.0, tol=1e-12, max_iter=100000).fit(sc.transform(pca.transform(Xtr)), ytr)
    // (the full script is bench/features/sklearn_small.py)
    #[test]
    fn pca10_features_of_the_embedded_subset_match_scikit_learn() {
        let split = embedded_mnist().unwrap();
        let pca = PcaParams::new(NComponents::Count(10)).fit(split.train.data(), 784).unwrap();
        let (ztr, zte) = (pca.transform(split.train.data()).unwrap(), pca.transform(split.test.data()).unwrap());
        let (ytr, yte) = (split.train.labels().unwrap(), split.test.labels().unwrap());
        let m = LogisticParams::default().tol(1e-9).fit(&ztr, 10, ytr).unwrap();
        assert!(m.converged, "{m:?}");
        assert_eq!(m.classes, (0..10).collect::<Vec<u32>>());
        let close = |got: f64, want: f64, what: &str| {
            assert!((got - want).abs() <= 1e-4 * (1.0 + want.abs()), "{what}: {got} vs scikit-learn {want}")
        };
        // >>> clf.coef_[0], clf.coef_[9], clf.intercept_
        let coef0 = [3.9187345897784023, 0.4410655034580213, -0.44473066270358763, 0.9911697613795689, -1.5448887356410295,
            -0.738306144047522, 0.02093414700991565, -0.26776619821069797, 0.14893405960859438, -0.06159359457045947];
        let coef9 = [-0.4489227775584328, -2.9597151501291683, 0.7385646622474391, 0.769953254272565, 0.4526559697215324,
            0.06316416689722375, -0.00656196209498197, -0.38798411210231987, 0.4635998940760196, -0.5908171001665949];
        let intercept = [-0.13246804136963422, -4.772895766117411, 0.7447330535809947, 0.8857720628029162, -0.4276840001504449,
            2.0990782378589485, -0.48258445632100005, -0.668745315222503, 1.8017048420669968, 0.9530893828711321];
        for (j, ((&c0, &c9), &b)) in coef0.iter().zip(&coef9).zip(&intercept).enumerate() {
            close(m.coef(0, j), c0, &format!("coef_[0][{j}]"));
            close(m.coef(9, j), c9, &format!("coef_[9][{j}]"));
            close(m.intercept[j], b, &format!("intercept_[{j}]"));
        }
        // >>> -log(P[range(n), ytr]).mean() + 0.5 * (clf.coef_ ** 2).sum() / n
        close(m.objective, 0.6049745642816473, "objective / n");
        // >>> clf.predict_proba(sc.transform(pca.transform(Xte[:1])))[0]
        let proba = [1.1578782054747526e-05, 2.0244772735494190e-08, 7.9645758335425299e-07, 9.6066005193588247e-04,
            8.4709492452475274e-05, 7.8372672007532087e-05, 4.5034585168746231e-08, 9.9271253645509283e-01,
            1.1393759704582181e-06, 6.1501414335447899e-03];
        let got = m.predict_proba(&zte[..10]).unwrap();
        for (c, (g, w)) in got.iter().zip(proba).enumerate() {
            assert!((g - w).abs() < 1e-5, "predict_proba[0][{c}]: {g} vs scikit-learn {w}");
        }
        // >>> clf.score(test), clf.score(train): 0.769, 0.81175
        assert_eq!(m.accuracy(&zte, yte).unwrap(), 0.769);
        assert_eq!(m.accuracy(&ztr, ytr).unwrap(), 0.81175);
    }

    #[test]
    fn labels_need_not_be_contiguous_and_constant_features_are_harmless() {
        // Two separable clusters labelled 3 and 7; feature 1 is constant.
        let x = [0.0, 5.0, 0.2, 5.0, 0.1, 5.0, 2.0, 5.0, 2.2, 5.0, 1.9, 5.0];
        let y = [3, 3, 3, 7, 7, 7];
        let m = LogisticParams::default().fit(&x, 2, &y).unwrap();
        assert!(m.converged && m.objective.is_finite());
        assert_eq!(m.predict(&x).unwrap(), y);
        assert_eq!(m.predict(&[-1.0, 5.0, 3.0, 5.0]).unwrap(), [3, 7]);
    }

    #[test]
    fn bad_input_is_an_error() {
        let p = LogisticParams::default();
        assert!(matches!(p.fit(&[1.0, 2.0, 3.0], 2, &[0]), Err(Error::Shape(_))));
        assert!(matches!(p.fit(&[1.0, 2.0], 1, &[0]), Err(Error::Shape(_))));
        assert!(matches!(p.fit(&[1.0, 2.0], 1, &[4, 4]), Err(Error::InvalidArgument { .. })));
        assert!(matches!(p.fit(&[1.0, f32::NAN], 1, &[0, 1]), Err(Error::InvalidArgument { .. })));
        assert!(matches!(p.clone().c(0.0).fit(&[1.0, 2.0], 1, &[0, 1]), Err(Error::InvalidArgument { .. })));
    }
}
