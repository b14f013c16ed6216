//! What `fit` trains when the user names no model or sizes: a model that fits the data, whose
//! code is always smaller than its input (an autoencoder that can copy its input reconstructs
//! anomalies as well as normal data and cannot tell them apart).

use crate::data::SampleShape;
use crate::models::ModelOptions;

/// The model for data of `input` when none is named: `dense` for tables, `conv` for images.
pub fn default_model(input: SampleShape) -> &'static str {
    match input {
        SampleShape::Tabular { .. } => "dense",
        SampleShape::Image { .. } => "conv",
    }
}

/// The model for windows of `window` rows of a series when none is named: `conv1d` (its two
/// stride-2 layers need a window divisible by 4; other windows get `dense`). Chosen on
/// validation series (`bench/series/validate.py`, 24 synthetic series): conv1d 22/24 UCR-style
/// hits and mean point AUROC 0.980, dense 19/24 and 0.840.
pub fn default_series_model(window: usize) -> &'static str {
    if window % 4 == 0 {
        "conv1d"
    } else {
        "dense"
    }
}

/// The batch size when none is given: 64 for tables, 128 for images and series windows.
/// Tables are often small (a few hundred rows), where batch 128 leaves 20 epochs only 20-60
/// Adam steps. On the table suite's validation parts (`bench/tables`, split seeds 0-4, model
/// seeds 0-4, the tail score) batch 64 gave a mean AUROC of 0.9057 against 0.8991 at 128, and
/// more for every model seed; batch 32 gave 0.9040, and 40 epochs at 128 0.9029.
pub fn default_batch_size(input: SampleShape, series: bool) -> usize {
    match input {
        SampleShape::Tabular { .. } if !series => 64,
        _ => 128,
    }
}

/// `given` with the sizes it leaves open filled in for a detector of `model` on `input`:
/// - tables (F columns): a code of ceil(F / 4) values (at least 2, at most 16) and one hidden
///   layer of twice the code, at least 16 and at most 64 wide;
/// - images, `conv`: a dense bottleneck of 16 (the one-class MNIST recipe; without one the
///   conv code is larger than the image).
///
/// Sizes the user gave are kept as they are.
pub fn sized_options(input: SampleShape, model: &str, given: &ModelOptions) -> ModelOptions {
    let mut o = given.clone();
    match input {
        SampleShape::Tabular { features } => {
            let latent = *o.latent.get_or_insert(features.div_ceil(4).clamp(2, 16));
            if matches!(model, "dense" | "sparse" | "vae") && o.hidden.is_none() {
                o.hidden = Some(vec![(2 * latent).clamp(16, 64)]);
            }
        }
        SampleShape::Image { .. } => {
            if model == "conv" && o.latent.is_none() {
                o.latent = Some(16);
            }
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_smaller_than_the_input_and_given_sizes_stay() {
        for f in [2, 4, 13, 30, 64, 200] {
            let o = sized_options(SampleShape::Tabular { features: f }, "dense", &ModelOptions::default());
            let l = o.latent.unwrap();
            assert!(l < f || f <= 2, "{f} features, code {l}");
            assert!(o.hidden.unwrap()[0] >= l);
        }
        let o = sized_options(SampleShape::Tabular { features: 30 }, "dense", &ModelOptions::default());
        assert_eq!((o.latent, o.hidden), (Some(8), Some(vec![16])));
        let given = ModelOptions { latent: Some(3), hidden: Some(vec![40, 20]), ..ModelOptions::default() };
        assert_eq!(sized_options(SampleShape::Tabular { features: 30 }, "dense", &given), given);
        let img = SampleShape::Image { channels: 1, height: 28, width: 28 };
        assert_eq!(sized_options(img, "conv", &ModelOptions::default()).latent, Some(16));
        assert_eq!(default_model(img), "conv");
        assert_eq!(default_model(SampleShape::Tabular { features: 3 }), "dense");
        assert_eq!((default_series_model(128), default_series_model(25)), ("conv1d", "dense"));
        assert_eq!((default_batch_size(SampleShape::Tabular { features: 30 }, false), default_batch_size(SampleShape::Tabular { features: 30 }, true)), (64, 128));
        assert_eq!(default_batch_size(img, false), 128);
    }
}
