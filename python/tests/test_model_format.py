"""One model format: a model saved from Python is a normal model folder the CLI predicts with,
and a model fitted by the CLI loads in Python, with identical numbers both ways."""

import subprocess

import numpy as np
import pytest

import credence
from conftest import FAST, FAST_HIDDEN

pd = pytest.importorskip("pandas")


def cli_predict(cli, model_dir, data_csv, out_csv):
    subprocess.run([cli, "predict", "--model", str(model_dir), "--data", str(data_csv), "--out", str(out_csv)], check=True)
    return pd.read_csv(out_csv)


def test_cli_predicts_a_python_saved_model_identically(tmp_path, cli, regression_data):
    X, y, Xt, _ = regression_data
    r = credence.BayesianRegressor(method="laplace", hidden=FAST_HIDDEN, config=FAST, verbose=False).fit(X, y)
    r.save(tmp_path / "m")
    assert (tmp_path / "m" / "model.json").exists()
    pd.DataFrame(Xt, columns=["x0", "x1"]).to_csv(tmp_path / "t.csv", index=False)
    out = cli_predict(cli, tmp_path / "m", tmp_path / "t.csv", tmp_path / "p.csv")
    p = r.predictive(Xt)
    np.testing.assert_allclose(out["mean"], p.mean, rtol=1e-12, atol=0)
    np.testing.assert_allclose(out["std"], p.std, rtol=1e-12, atol=0)
    np.testing.assert_allclose(out["epistemic_std"], p.epistemic_std, rtol=1e-12, atol=0)


def test_python_loads_a_cli_fitted_classifier_identically(tmp_path, cli, penguins):
    df = penguins.dropna().sample(frac=1.0, random_state=0).reset_index(drop=True)
    train, test = df.iloc[:200], df.iloc[200:]
    train.to_csv(tmp_path / "train.csv", index=False)
    test.to_csv(tmp_path / "test.csv", index=False)
    (tmp_path / "c.toml").write_text("[model]\nhidden = [8]\n[training]\nepochs = 150\npatience = 20\n")
    subprocess.run(
        [cli, "fit", "--data", str(tmp_path / "train.csv"), "--target", "species", "--method", "ensemble",
         "--config", str(tmp_path / "c.toml"), "--out", str(tmp_path / "m"), "--quiet"],
        check=True,
    )
    m = credence.load(tmp_path / "m")
    assert m.method == "ensemble" and m.classes == ["Adelie", "Chinstrap", "Gentoo"]
    out = cli_predict(cli, tmp_path / "m", tmp_path / "test.csv", tmp_path / "p.csv")
    p = m.predictive(test.drop(columns=["species"]))
    np.testing.assert_allclose(out[["p_Adelie", "p_Chinstrap", "p_Gentoo"]].to_numpy(), p.probs, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(out["mutual_information"], p.mutual_information, rtol=1e-9, atol=1e-15)
    assert list(out["predicted"]) == list(m.predict(test))


def test_save_load_round_trip_and_pickle(tmp_path, regression_data):
    import pickle

    X, y, Xt, _ = regression_data
    r = credence.BayesianRegressor(method="vi", hidden=FAST_HIDDEN, config={**FAST, "inference": {"samples": 10}}, verbose=False).fit(X, y)
    r.save(tmp_path / "m")
    m = credence.load(tmp_path / "m")
    np.testing.assert_array_equal(m.predictive(Xt).mean, r.predictive(Xt).mean)
    r2 = pickle.loads(pickle.dumps(r))
    np.testing.assert_array_equal(r2.predict(Xt), r.predict(Xt))


def test_loading_a_folder_that_is_not_a_model_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="model.json"):
        credence.load(tmp_path)
