"""aekit.Autoencoder, aekit.VAE and aekit.AnomalyDetector: scikit-learn's checks, pipelines,
pickles, errors, PyOD's attributes, and run folders shared with the aekit program."""

import os
import pickle
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

import aekit
from conftest import run_cli, table

PYOD = "PyOD's convention: predict gives 1 for anomalies and 0 for normal rows (scikit-learn's outlier detectors give -1 and 1)"


def test_sklearn_checks_autoencoder():
    # All of scikit-learn's checks, none expected to fail (tiny model, 1 epoch: the checks are
    # about the interface, not the fit).
    check_estimator(aekit.Autoencoder(hidden=(8,), latent_dim=2, epochs=1))


def test_sklearn_checks_anomaly_detector():
    check_estimator(
        aekit.AnomalyDetector(hidden=(8,), latent_dim=2, epochs=1),
        expected_failed_checks={"check_outliers_fit_predict": PYOD, "check_outliers_train": PYOD},
    )


def test_autoencoder_codes_feed_a_classifier_in_a_grid_search(mnist_subset):
    x, y, xte, yte = mnist_subset
    ae = aekit.Autoencoder(hidden=(128,), epochs=20, input_shape=(28, 28), random_state=0)
    pipe = Pipeline([("ae", ae), ("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=500))])
    grid = GridSearchCV(pipe, {"ae__latent_dim": [2, 16]}, cv=2).fit(x[:2000], y[:2000])
    assert grid.best_params_["ae__latent_dim"] == 16
    acc = grid.score(xte, yte)
    # A 16-d code of a 20-epoch autoencoder on 2,000 images (measured 0.73; PCA's 16 components
    # give 0.80 here: the dense model's ReLU code leaves some units dead). Chance is 0.1.
    assert acc > 0.6, acc
    ae = grid.best_estimator_.named_steps["ae"]
    z = ae.transform(xte[:5])
    assert z.shape == (5, 16) and z.dtype == np.float32
    assert ae.inverse_transform(z).shape == (5, 784)
    assert list(ae.get_feature_names_out())[:2] == ["autoencoder0", "autoencoder1"]
    again = pickle.loads(pickle.dumps(ae))
    np.testing.assert_array_equal(again.transform(xte[:5]), z)


def test_conv_vae_samples_and_encodes_images(mnist_subset):
    x = mnist_subset[0][:600]
    vae = aekit.VAE(latent_dim=2, hidden=(64,), epochs=2, input_shape=(28, 28), random_state=1).fit(x)
    s = vae.sample(4, random_state=3)
    assert s.shape == (4, 784) and 0 <= s.min() and s.max() <= 1
    np.testing.assert_array_equal(s, vae.sample(4, random_state=3))
    assert vae.transform(x[:3]).shape == (3, 2)


def test_errors_are_python_exceptions():
    x, _ = table(50, False, 0)
    with pytest.raises(NotFittedError):
        aekit.Autoencoder().transform(x)
    with pytest.raises(NotFittedError):
        aekit.AnomalyDetector().decision_function(x)
    ae = aekit.Autoencoder(hidden=(4,), latent_dim=2, epochs=1).fit(x)
    with pytest.raises(ValueError, match="X has 3 features, but Autoencoder is expecting 4"):
        ae.transform(x[:, :3])
    with pytest.raises(ValueError, match="NaN"):
        ae.transform(np.where(np.eye(50, 4) > 0, np.nan, x))
    with pytest.raises(ValueError, match="input_shape"):
        aekit.Autoencoder(input_shape=(3, 3), epochs=1).fit(x)
    # The library's own message, as the program prints it.
    with pytest.raises(ValueError, match="models pixels in \\[0, 1\\]"):
        aekit.VAE(epochs=1).fit(x)
    with pytest.raises(ValueError, match="unknown training option"):
        aekit.Autoencoder(epochs=1).set_params(batch_size=0).fit(x) if False else aekit._aekit.fit_run(
            np.zeros((4, 4), np.float32), [4], "/tmp/aekit-never", train='{"nonsense": 1}')
    with pytest.raises(ValueError, match="C-contiguous"):
        ae.run_._ep.rows("encode", np.zeros((4, 8), np.float32)[:, ::2], None)


def test_anomaly_detector_has_pyods_interface():
    x, _ = table(400, False, 1)
    xt, yt = table(200, True, 2)
    det = aekit.AnomalyDetector(contamination=0.05, random_state=0).fit(x)
    # `aekit anomaly fit`'s table defaults, from the same library call.
    import json
    with open(os.path.join(det.run_dir_, "config.json")) as f:
        cfg = json.load(f)
    assert (cfg["train"]["epochs"], cfg["train"]["batch_size"], cfg["model"]["hidden"]) == (15, 64, [64, 32]), cfg
    assert det.decision_scores_.shape == (400,) and det.labels_.shape == (400,)
    assert abs(det.labels_.mean() - 0.05) < 0.01
    assert det.threshold_ == pytest.approx(np.percentile(det.decision_scores_, 95))
    s = det.decision_function(xt)
    assert roc_auc_score(yt, s) > 0.95
    pred = det.predict(xt)
    assert set(np.unique(pred)) <= {0, 1}
    np.testing.assert_array_equal(pred, (s > det.threshold_).astype(int))
    proba = det.predict_proba(xt)
    assert proba.shape == (200, 2) and np.allclose(proba.sum(axis=1), 1)
    assert proba[yt == 1, 1].mean() > proba[yt == 0, 1].mean()
    p = det.p_values(xt)
    assert np.all((p > 0) & (p <= 1))
    # Conformal p-values of normal rows are roughly uniform: few fall under 0.05.
    assert (p[yt == 0] <= 0.05).mean() < 0.15
    assert det.fit_predict(x).shape == (400,)


def test_run_folders_go_both_ways(tmp_path, aekit_bin):
    import pandas as pd
    x, _ = table(300, False, 3)
    xt, _ = table(40, True, 4)
    cols = ["a", "b", "c", "d"]
    # Python fits, the program scores.
    det = aekit.AnomalyDetector(epochs=5, run_dir=str(tmp_path / "py-run")).fit(pd.DataFrame(x, columns=cols))
    pd.DataFrame(xt, columns=cols).to_csv(tmp_path / "test.csv", index=False)
    run_cli(aekit_bin, "anomaly", "score", "--run", "py-run", "--data", "test.csv", "--out", "out/scores.csv", "--quiet", cwd=tmp_path)
    cli = pd.read_csv(tmp_path / "out/scores.csv")
    np.testing.assert_allclose(cli["score"].to_numpy(), det.decision_function(xt), rtol=1e-5)
    np.testing.assert_allclose(cli["p_value"].to_numpy(), det.p_values(xt), rtol=1e-9)
    # The program fits, Python scores.
    pd.DataFrame(x, columns=cols).to_csv(tmp_path / "train.csv", index=False)
    run_cli(aekit_bin, "anomaly", "fit", "--data", "train.csv", "--epochs", "3", "--out", "cli-run", "--quiet", cwd=tmp_path)
    run_cli(aekit_bin, "anomaly", "score", "--run", "cli-run", "--data", "test.csv", "--out", "out2/scores.csv", "--quiet", cwd=tmp_path)
    run = aekit.load(str(tmp_path / "cli-run"))
    assert run.info["kind"] == "anomaly" and run.info["columns"] == cols
    r = run.score(xt)
    cli2 = pd.read_csv(tmp_path / "out2/scores.csv")
    np.testing.assert_allclose(cli2["score"].to_numpy(), r["scores"], rtol=1e-5)
    np.testing.assert_array_equal(cli2["flag"].to_numpy() == 1, r["flags"])


def test_ctrl_c_stops_training_with_keyboard_interrupt(tmp_path):
    script = textwrap.dedent(f"""
        import numpy as np, aekit, sys
        x = np.random.default_rng(0).normal(size=(20000, 64)).astype(np.float32)
        print("ready", flush=True)
        try:
            aekit.Autoencoder(hidden=(256,), epochs=1000, run_dir={str(tmp_path / 'run')!r}).fit(x)
        except KeyboardInterrupt as e:
            print("interrupted:", e, flush=True)
            sys.exit(3)
    """)
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    import time

    time.sleep(3)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 3, (out, err)
    assert "interrupted" in out
    # Nothing half-written: every checkpoint folder present is complete.
    ck = tmp_path / "run" / "checkpoint"
    for d in ck.iterdir() if ck.exists() else []:
        assert (d / "model.safetensors").is_file(), d
