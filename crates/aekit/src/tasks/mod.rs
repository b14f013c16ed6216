//! Applications, one file each. Each returns a serializable report and can describe itself as a
//! section of the demo's HTML page.

pub mod anomaly;
pub mod codes;
pub mod denoise;
pub mod features;
pub mod generate;
pub mod one_class;
pub mod pca_compression;
pub mod reconstruct;
pub mod restore;
pub mod superres;
pub mod task;
