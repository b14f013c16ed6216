//! Variational autoencoders: `train --model vae*`, `sample`, `eval --nll`, `interpolate`,
//! `manifold` and `latent-map`.

use super::*;

#[test]
fn vae_reports_the_elbo_and_its_parts() {
    let t = tempfile::tempdir().unwrap();
    // All 4,000 embedded training images, 5 epochs: about a second. (Very early in training a
    // sampled z can still beat the mean; by 5 epochs the mean is better, as it stays.)
    let o = aekit(t.path(), &["train", "--model", "vae-mnist", "--data", "mnist-embedded", "--test-samples", "300", "--epochs", "5", "--out", "vae", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = report(&t.path().join("vae/report.json"));
    let (loss, rec, kl, mean_z) = (
        r["test_loss"].as_f64().unwrap(),
        r["test_reconstruction"].as_f64().unwrap(),
        r["test_kl"].as_f64().unwrap(),
        r["test_loss_mean_z"].as_f64().unwrap(),
    );
    assert!((loss - (rec + kl)).abs() < 1e-3 * loss, "{loss} != {rec} + {kl}");
    // Per-image nats over 784 pixels: far below the 543 nats of a coin flip per pixel, and
    // positive.
    assert!(loss > 50.0 && loss < 300.0, "test -ELBO {loss}");
    assert!(kl > 0.0);
    assert!(mean_z < loss, "z at the mean ({mean_z}) should reconstruct better than a sampled z ({loss})");
    assert!(r["loss"].as_str().unwrap().contains("negative ELBO per sample in nats"));
    assert!(t.path().join("vae/sample_5.png").is_file() && t.path().join("vae/reconstruction_5.png").is_file());

    let o = aekit(t.path(), &["sample", "--run", "vae", "--n", "16", "--out", "s", "--seed", "3", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(t.path().join("s/samples.png").is_file() && t.path().join("s/sample_0015.png").is_file());

    // The importance-weighted bound is tighter than the ELBO: its NLL estimate is lower.
    let o = aekit(
        t.path(),
        &["eval", "--run", "vae", "--data", "mnist-embedded", "--test-samples", "100", "--nll", "--importance-samples", "64", "--out", "eval.json", "--quiet"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let e = report(&t.path().join("eval.json"));
    let (elbo, nll) = (e["test_loss"].as_f64().unwrap(), e["test_nll_iwae"].as_f64().unwrap());
    assert!(nll > 0.0 && nll < elbo, "IWAE NLL {nll} vs -ELBO {elbo}");

    let o = aekit(t.path(), &["interpolate", "--run", "vae", "--data", "mnist-embedded", "--from", "0", "--to", "1", "--out", "i", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(t.path().join("i/interpolation.png").is_file());
    let o = aekit(t.path(), &["interpolate", "--run", "vae", "--data", "mnist-embedded", "--from", "0", "--to", "5000", "--out", "i2"]);
    assert_bad_input(&o, "--to 5000", &["1000 samples"]);
    let o = aekit(t.path(), &["manifold", "--run", "vae", "--out", "m"]);
    assert_bad_input(&o, "2-D latent space", &["20 dimensions"]);
    let o = aekit(t.path(), &["latent-map", "--run", "vae", "--data", "mnist-embedded", "--out", "lm", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(t.path().join("lm/latent_map.png").is_file());
}

#[test]
fn vae_with_2d_latent_draws_the_manifold_and_resumes_exactly() {
    let t = tempfile::tempdir().unwrap();
    let args = |epochs: &'static str, out: &'static str| {
        train_args(&["--model", "vae", "--latent", "2", "--hidden", "64", "--likelihood", "gaussian", "--epochs", epochs, "--out", out])
    };
    let o = aekit(t.path(), &args("2", "full"));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = aekit(t.path(), &args("1", "part"));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = aekit(t.path(), &["train", "--resume", "part", "--epochs", "2", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The reparameterization noise comes from seeded per-epoch streams: resuming changes nothing.
    assert_eq!(metrics_values(&t.path().join("full/metrics.csv")), metrics_values(&t.path().join("part/metrics.csv")));
    let o = aekit(t.path(), &["manifold", "--run", "full", "--n", "8", "--out", "m", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(t.path().join("m/manifold.png").is_file());
    let cfg = report(&t.path().join("full/config.json"));
    assert_eq!(cfg["model"]["likelihood"]["kind"].as_str(), Some("gaussian"));
}

#[test]
fn conv_vae_trains_and_samples() {
    let t = tempfile::tempdir().unwrap();
    let o = aekit(t.path(), &train_args(&["--model", "conv-vae", "--channels", "8,16", "--latent", "8", "--epochs", "2", "--out", "cvae"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let r = report(&t.path().join("cvae/report.json"));
    let (loss, rec, kl) = (r["test_loss"].as_f64().unwrap(), r["test_reconstruction"].as_f64().unwrap(), r["test_kl"].as_f64().unwrap());
    assert!((loss - (rec + kl)).abs() < 1e-3 * loss && loss < 543.0, "{loss} = {rec} + {kl}");
    let first: f64 = r["epochs"][0]["train_loss"].as_f64().unwrap();
    let last: f64 = r["epochs"][1]["train_loss"].as_f64().unwrap();
    assert!(last < first, "training loss went from {first} to {last}");
    let o = aekit(t.path(), &["sample", "--run", "cvae", "--n", "8", "--out", "s", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(t.path().join("s/samples.png").is_file());
}
