//! # aekit
//!
//! Autoencoders, PCA and variational autoencoders on your own data: data readers (IDX, image
//! folders, CSV, built-in datasets), scikit-learn-compatible PCA, figures and reports.
//!
//! ```no_run
//! use aekit::data::builtin::embedded_mnist;
//! use aekit::pca::{NComponents, PcaParams};
//!
//! let split = embedded_mnist()?;
//! let pca = PcaParams::new(NComponents::Count(16)).fit(split.train.data(), split.train.sample_len())?;
//! let codes = pca.transform(split.test.data())?; // [n_test, 16]
//! let recon = pca.inverse_transform(&codes)?;    // [n_test, 784]
//! println!("test MSE {:.4}", aekit::metrics::mse(split.test.data(), &recon));
//! # Ok::<(), aekit::Error>(())
//! ```

pub mod classify;
pub mod data;
pub mod device;
pub mod demo;
pub mod fused;
mod error;
pub mod io;
pub mod linalg;
pub mod loss;
pub mod models;
pub mod metrics;
pub mod pca;
pub mod rng;
pub mod apps;
pub mod train;
pub mod viz;

pub use error::{Error, Result};
