//! The variational autoencoder of Kingma & Welling (2013), "Auto-Encoding Variational Bayes".
//!
//! The encoder gives a diagonal Gaussian q(z|x) = N(mu, diag(exp(logvar))); training draws
//! z = mu + exp(logvar / 2) · eps with eps ~ N(0, I) (the reparameterization trick) and minimises
//! the negative evidence lower bound per sample, in nats:
//!
//!   -ELBO(x) = -log p(x|z) + beta · KL(q(z|x) || N(0, I)),
//!   KL = -1/2 Σ_j (1 + logvar_j - mu_j² - exp(logvar_j)),
//!
//! with -log p(x|z) the Bernoulli likelihood (binary cross-entropy summed over pixels, as in the
//! PyTorch example) or a Gaussian one (fixed or learned standard deviation, shared by all
//! pixels). The loss is the mean over the batch of the per-sample value.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

use super::{ModelSpec, mlp, Activation, Autoencoder, Output};
use crate::data::SampleShape;
use crate::error::{Error, Result};
use crate::loss::Loss;

/// The decoder's likelihood p(x|z).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Likelihood {
    /// Pixels in [0, 1] as Bernoulli probabilities: binary cross-entropy summed over pixels.
    Bernoulli,
    /// N(x; sigmoid(decoder), sigma²) per pixel; `sigma: None` learns one shared log-sigma.
    Gaussian { sigma: Option<f64> },
}

#[derive(Config, Debug)]
pub struct VaeConfig {
    pub input: SampleShape,
    /// Hidden sizes of the encoder; the decoder mirrors them.
    #[config(default = "vec![400]")]
    pub hidden: Vec<usize>,
    #[config(default = 20)]
    pub latent: usize,
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
    #[config(default = "Likelihood::Bernoulli")]
    pub likelihood: Likelihood,
    /// Weight of the KL term (beta-VAE, Higgins et al. 2017); 1 is the ELBO.
    #[config(default = 1.0)]
    pub beta: f64,
}

impl VaeConfig {
    /// The PyTorch example's model (github.com/pytorch/examples, vae/main.py): 784-400 ReLU,
    /// 20-d mu and logvar heads, 20-400 ReLU-784 sigmoid, Bernoulli likelihood.
    pub fn mnist_preset(input: SampleShape) -> Self {
        VaeConfig::new(input)
    }

    /// The one-stochastic-layer model of Burda et al. (2016), "Importance Weighted
    /// Autoencoders": two deterministic layers of 200 tanh units, 50 latent units, Bernoulli
    /// likelihood (for binarized MNIST).
    pub fn large_preset(input: SampleShape) -> Self {
        VaeConfig::new(input).with_hidden(vec![200, 200]).with_latent(50).with_activation(Activation::Tanh)
    }


    pub fn init(&self, device: &Device) -> Vae {
        let mut sizes = vec![self.input.len()];
        sizes.extend(&self.hidden);
        let encoder = sizes.windows(2).map(|w| LinearConfig::new(w[0], w[1]).init(device)).collect();
        let h = *sizes.last().expect("input size");
        let mut dec = vec![self.latent];
        dec.extend(self.hidden.iter().rev());
        dec.push(self.input.len());
        let decoder = dec.windows(2).map(|w| LinearConfig::new(w[0], w[1]).init(device)).collect();
        Vae {
            encoder,
            head: GaussianHead::new(h, self.latent, self.likelihood, self.beta, device),
            decoder,
            activation: self.activation,
        }
    }
}

impl ModelSpec for VaeConfig {
    fn name(&self) -> &'static str {
        "vae"
    }
    fn input_shape(&self) -> SampleShape {
        self.input
    }
    fn validate(&self) -> Result<()> {
        if self.hidden.contains(&0) {
            return Err(Error::arg("vae layer sizes", format!("hidden {:?}: sizes must be positive", self.hidden)));
        }
        validate_vae(self.latent, self.beta, self.likelihood)
    }
    fn is_variational(&self) -> bool {
        true
    }
}

#[derive(Module, Debug)]
pub struct Vae {
    pub encoder: Vec<Linear>,
    pub head: GaussianHead,
    pub decoder: Vec<Linear>,
    #[module(skip)]
    activation: Activation,
}

/// The parts of the negative ELBO, per sample.
pub struct ElboParts {
    /// -log p(x|z), nats, `[B]`.
    pub reconstruction: Tensor<1>,
    /// KL(q(z|x) || N(0, I)), nats, `[B]`.
    pub kl: Tensor<1>,
}

/// Decodes `n` draws z = temperature · eps, eps ~ N(0, I), from a seeded stream.
///
/// # Shapes
/// → `[n, P]` in data space
pub fn sample_prior(vae: &dyn Variational, n: usize, temperature: f64, seed: u64, device: &Device) -> Vec<f32> {
    let l = vae.latent_dim();
    let eps = crate::rng::normals(&mut crate::rng::stream(seed, 0), n * l);
    let z = Tensor::<2>::from_data(TensorData::new(eps, [n, l]), device) * temperature;
    let x = burn::tensor::activation::sigmoid(vae.decode(z));
    x.into_data().try_into_vec_as::<f32>().unwrap_or_default()
}

/// A model with a diagonal Gaussian posterior and a likelihood p(x|z): every VAE. The ELBO, its
/// parts and the importance weights are written once here, for every encoder/decoder shape.
pub trait Variational: Autoencoder {
    /// The encoder's body: the features the posterior heads read.
    ///
    /// # Shapes
    /// `x`: `[B, P]` → `[B, F]`
    fn features(&self, x: Tensor<2>) -> Tensor<2>;
    fn head(&self) -> &GaussianHead;

    /// The Gaussian posterior's parameters.
    ///
    /// # Shapes
    /// `x`: `[B, P]` → (`mu`, `logvar`): `[B, L]` each
    fn posterior(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let h = self.features(x);
        (self.head().mu.forward(h.clone()), self.head().logvar.forward(h))
    }
    fn latent_dim(&self) -> usize {
        self.head().latent
    }
    fn likelihood(&self) -> Likelihood {
        self.head().likelihood
    }
    /// The learned log standard deviation of a Gaussian likelihood without a fixed sigma.
    fn log_sigma(&self) -> Option<Tensor<1>> {
        self.head().log_sigma.as_ref().map(|p| p.val())
    }
    fn beta(&self) -> f64 {
        self.head().beta
    }

    /// -log p(x | decoder output), summed over pixels.
    ///
    /// # Shapes
    /// `logits`, `x`: `[B, P]` → `[B]`
    fn nll(&self, logits: Tensor<2>, x: Tensor<2>) -> Tensor<1> {
        let per: Tensor<2> = match self.likelihood() {
            Likelihood::Bernoulli => crate::loss::bce_with_logits_values(logits, x),
            Likelihood::Gaussian { sigma } => {
                let sq = (burn::tensor::activation::sigmoid(logits) - x).square();
                let half_log_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
                match (sigma, self.log_sigma()) {
                    (Some(s), _) => sq / (2.0 * s * s) + (s.ln() + half_log_2pi),
                    (None, Some(ls)) => {
                        let ls: Tensor<2> = ls.reshape([1, 1]);
                        sq * (ls.clone() * -2.0).exp() * 0.5 + ls + half_log_2pi
                    }
                    (None, None) => unreachable!("a learned sigma always has its parameter"),
                }
            }
        };
        per.sum_dim(1).squeeze_dim(1)
    }

    /// The posterior's parameters and the decoder's logits for z drawn with `eps` `[B, L]`, or
    /// set to the mean when `eps` is `None`.
    ///
    /// # Shapes
    /// `x`: `[B, P]` → (`mu`, `logvar`): `[B, L]`, `logits`: `[B, P]`
    fn forward_parts(&self, x: Tensor<2>, eps: Option<Tensor<2>>) -> (Tensor<2>, Tensor<2>, Tensor<2>) {
        let (mu, logvar) = self.posterior(x);
        let z = match eps {
            Some(e) => mu.clone() + (logvar.clone() * 0.5).exp() * e,
            None => mu.clone(),
        };
        let logits = self.decode(z);
        (mu, logvar, logits)
    }

    /// Per-sample parts of the negative ELBO; `eps` `[B, L]` draws z, `None` sets z to the mean.
    fn elbo_parts(&self, x: Tensor<2>, eps: Option<Tensor<2>>) -> ElboParts {
        let (mu, logvar, logits) = self.forward_parts(x.clone(), eps);
        let kl = ((logvar.clone() + 1.0 - mu.square() - logvar.exp()) * -0.5).sum_dim(1).squeeze_dim(1);
        ElboParts { reconstruction: self.nll(logits, x), kl }
    }

    /// log p(x, z_k) - log q(z_k | x) for K draws per sample, the terms of the importance-weighted
    /// bound (Burda et al. 2016).
    ///
    /// # Shapes
    /// `x`: `[B, P]`, `eps`: `[B, K, L]` → `[B, K]`
    fn log_weights(&self, x: Tensor<2>, eps: Tensor<3>) -> Tensor<2> {
        let [b, k, l] = eps.dims();
        let [_, p] = x.dims();
        let (mu, logvar) = self.posterior(x.clone());
        let std = (logvar.clone() * 0.5).exp();
        let z: Tensor<3> = mu.reshape([b, 1, l]) + std.reshape([b, 1, l]) * eps.clone();
        let logits = self.decode(z.clone().reshape([b * k, l]));
        let xk: Tensor<2> = x.reshape([b, 1, p]).expand([b, k, p]).reshape([b * k, p]);
        let log_px_z: Tensor<2> = (-self.nll(logits, xk)).reshape([b, k]);
        let half_log_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
        // log N(z; 0, I) and log N(z; mu, std²) = log N(eps; 0, I) - Σ log std.
        let log_pz: Tensor<2> = (z.square() * -0.5 - half_log_2pi).sum_dim(2).squeeze_dim(2);
        let log_q: Tensor<2> = (eps.square() * -0.5 - half_log_2pi).sum_dim(2).squeeze_dim(2)
            - (logvar * 0.5).sum_dim(1);
        log_px_z + log_pz - log_q
    }

    /// The training objective: the batch mean of the per-sample -ELBO with KL weighted by beta.
    fn negative_elbo(&self, x: Tensor<2>, noise: Option<Tensor<2>>) -> Tensor<1> {
        let (mu, logvar, logits) = self.forward_parts(x.clone(), noise);
        if self.likelihood() == Likelihood::Bernoulli {
            // One pass for BCE, KL and their gradients on the CPU backend (crate::fused).
            if let Some(loss) = crate::fused::bernoulli_neg_elbo(&logits, &x, &mu, &logvar, self.beta()) {
                return loss;
            }
        }
        let kl = ((logvar.clone() + 1.0 - mu.square() - logvar.exp()) * -0.5).sum_dim(1).squeeze_dim(1);
        (self.nll(logits, x) + kl * self.beta()).mean()
    }

    fn describe_objective(&self) -> String {
        let lik = match self.likelihood() {
            Likelihood::Bernoulli => "Bernoulli likelihood (binary cross-entropy summed over pixels)".to_string(),
            Likelihood::Gaussian { sigma: Some(s) } => format!("Gaussian likelihood, sigma {s}"),
            Likelihood::Gaussian { sigma: None } => "Gaussian likelihood, learned sigma".to_string(),
        };
        let beta = if self.beta() == 1.0 { String::new() } else { format!(", KL weighted by beta = {}", self.beta()) };
        format!("negative ELBO per sample in nats, z sampled: {lik} + KL(q(z|x) || N(0, I)){beta}")
    }
}

/// What every VAE has beyond its encoder body and decoder: the posterior heads, the learned
/// log-sigma of a Gaussian likelihood without a fixed sigma, and the objective's settings.
#[derive(Module, Debug)]
pub struct GaussianHead {
    pub mu: Linear,
    pub logvar: Linear,
    pub log_sigma: Option<burn::module::Param<Tensor<1>>>,
    #[module(skip)]
    likelihood: Likelihood,
    #[module(skip)]
    beta: f64,
    #[module(skip)]
    latent: usize,
}

impl GaussianHead {
    pub fn new(features: usize, latent: usize, likelihood: Likelihood, beta: f64, device: &Device) -> Self {
        GaussianHead {
            mu: LinearConfig::new(features, latent).init(device),
            logvar: LinearConfig::new(features, latent).init(device),
            log_sigma: match likelihood {
                Likelihood::Gaussian { sigma: None } => Some(burn::module::Param::from_tensor(Tensor::zeros([1], device))),
                _ => None,
            },
            likelihood,
            beta,
            latent,
        }
    }

    /// The reconstruction loss the likelihood corresponds to, for per-value figures.
    pub fn loss_kind(&self) -> Loss {
        match self.likelihood {
            Likelihood::Bernoulli => Loss::Bce,
            Likelihood::Gaussian { .. } => Loss::Mse,
        }
    }
}

pub(crate) fn validate_vae(latent: usize, beta: f64, likelihood: Likelihood) -> Result<()> {
    if latent == 0 {
        return Err(Error::arg("latent", "0: expected a positive size"));
    }
    if !(beta >= 0.0 && beta.is_finite()) {
        return Err(Error::arg("beta", format!("{beta}: expected a non-negative weight")));
    }
    if let Likelihood::Gaussian { sigma: Some(s) } = likelihood {
        if !(s > 0.0 && s.is_finite()) {
            return Err(Error::arg("sigma", format!("{s}: expected a positive standard deviation")));
        }
    }
    Ok(())
}

impl Variational for Vae {
    fn features(&self, x: Tensor<2>) -> Tensor<2> {
        mlp(&self.encoder, x, self.activation, true)
    }
    fn head(&self) -> &GaussianHead {
        &self.head
    }
}

impl Autoencoder for Vae {
    /// The posterior mean: the latent feature of x.
    fn encode(&self, x: Tensor<2>) -> Tensor<2> {
        Variational::posterior(self, x).0
    }
    fn decode(&self, z: Tensor<2>) -> Tensor<2> {
        mlp(&self.decoder, z, self.activation, false)
    }
    fn output(&self) -> Output {
        Output::Sigmoid
    }
    fn loss_kind(&self) -> Loss {
        self.head.loss_kind()
    }
    fn noise_dim(&self) -> usize {
        self.head.latent
    }
    fn loss(&self, x: Tensor<2>, _target: Tensor<2>, noise: Option<Tensor<2>>) -> Tensor<1> {
        self.negative_elbo(x, noise)
    }
    fn loss_description(&self) -> String {
        self.describe_objective()
    }
    fn as_variational(&self) -> Option<&dyn Variational> {
        Some(self)
    }
}

/// `--model vae`.
pub fn from_options(input: SampleShape, o: &super::ModelOptions) -> Result<super::ModelConfig> {
    super::registry::images_only("vae", input)?;
    Ok(super::ModelConfig::Vae(o.vae(VaeConfig::new(input))))
}

/// `--model vae-mnist`: [`VaeConfig::mnist_preset`]; options do not change it.
pub fn mnist_from_options(input: SampleShape, _: &super::ModelOptions) -> Result<super::ModelConfig> {
    super::registry::images_only("vae-mnist", input)?;
    Ok(super::ModelConfig::Vae(VaeConfig::mnist_preset(input)))
}

/// `--model vae-large`: [`VaeConfig::large_preset`]; options do not change it.
pub fn large_from_options(input: SampleShape, _: &super::ModelOptions) -> Result<super::ModelConfig> {
    super::registry::images_only("vae-large", input)?;
    Ok(super::ModelConfig::Vae(VaeConfig::large_preset(input)))
}
