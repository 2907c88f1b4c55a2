"""pandas DataFrames go through the CLI's schema: text, categorical, boolean and missing
columns, the missing= option, column names kept, and the schema checked at predict time."""

import numpy as np
import pytest

import credence
from conftest import FAST, FAST_HIDDEN

pd = pytest.importorskip("pandas")


def small_frame():
    rng = np.random.default_rng(2)
    n = 80
    df = pd.DataFrame(
        {
            "size": rng.uniform(1, 3, n),
            "colour": pd.Categorical(rng.choice(["red", "green", "blue"], n)),
            "kind": rng.choice(["a", "b"], n).astype(object),
            "new": rng.random(n) > 0.5,
        }
    )
    y = 2 * df["size"] + (df["colour"] == "red") * 1.5 + df["new"] * 0.5 + 0.1 * rng.standard_normal(n)
    return df, y


def test_typed_columns_are_encoded_like_the_cli():
    df, y = small_frame()
    r = credence.BayesianRegressor(hidden=FAST_HIDDEN, config=FAST, verbose=False).fit(df, y)
    schema = r.model_.record["schema"]
    kinds = {c["name"]: c["type"] for c in schema["inputs"]}
    assert kinds == {"size": "numeric", "colour": "categorical", "kind": "categorical", "new": "boolean"}
    levels = {c["name"]: c.get("levels") for c in schema["inputs"]}
    assert levels["colour"] == ["blue", "green", "red"]
    assert list(r.feature_names_in_) == ["size", "colour", "kind", "new"]
    assert r.score(df, y) > 0.8


def test_missing_cells_follow_the_missing_option():
    df, y = small_frame()
    df = df.copy()
    df.loc[3, "size"] = np.nan
    df["kind"] = df["kind"].astype(object)
    df.loc[5, "kind"] = None
    with pytest.raises(ValueError, match="missing value"):
        credence.BayesianRegressor(hidden=FAST_HIDDEN, config=FAST, verbose=False).fit(df, y)
    imp = credence.BayesianRegressor(hidden=FAST_HIDDEN, config=FAST, verbose=False, missing="impute").fit(df, y)
    names = [c["name"] for c in imp.model_.record["schema"]["inputs"]]
    assert names == ["size", "colour", "kind", "new"]
    enc = imp.model_.record["data"]["features"]
    assert "size:missing" in enc and "kind=(missing)" in enc
    dropped = credence.BayesianRegressor(hidden=FAST_HIDDEN, config=FAST, verbose=False, missing="drop").fit(df, y)
    assert dropped.model_.record["data"]["rows"] == len(df) - 2
    assert any("2 row" in n for n in dropped.model_.notes)


def test_predict_checks_the_frame_against_the_schema():
    df, y = small_frame()
    r = credence.BayesianRegressor(hidden=FAST_HIDDEN, config=FAST, verbose=False).fit(df, y)
    with pytest.raises(ValueError, match="colour"):
        r.model_.predictive(df.drop(columns=["colour"]))
    unseen = df.head(3).copy()
    unseen["colour"] = pd.Categorical(["purple"] * 3)
    with pytest.raises(ValueError, match="purple"):
        r.model_.predictive(unseen)
    p = r.model_.predictive(unseen, unknown_level="zero")
    assert p.unseen.all()


def test_text_target_classifier_on_penguins(penguins):
    df = penguins.dropna(subset=["sex"]).reset_index(drop=True)
    X, y = df.drop(columns=["species"]), df["species"]
    c = credence.BayesianClassifier(hidden=FAST_HIDDEN, config=FAST, verbose=False, missing="impute").fit(X, y)
    assert list(c.classes_) == ["Adelie", "Chinstrap", "Gentoo"]
    assert c.model_.classes == ["Adelie", "Chinstrap", "Gentoo"]
    assert c.score(X, y) > 0.9


def test_a_frame_and_a_csv_give_the_same_model(tmp_path, cli, penguins):
    import subprocess

    df = penguins.dropna().head(120).reset_index(drop=True)
    csv = tmp_path / "p.csv"
    df.to_csv(csv, index=False)
    subprocess.run(
        [cli, "fit", "--data", str(csv), "--target", "body_mass_g", "--method", "map", "--config", str(_config(tmp_path)),
         "--out", str(tmp_path / "m"), "--quiet"],
        check=True,
    )
    from_cli = credence.load(tmp_path / "m")
    X, y = df.drop(columns=["body_mass_g"]), df["body_mass_g"]
    r = credence.BayesianRegressor(method="map", config=str(_config(tmp_path)), verbose=False).fit(X, y.rename("body_mass_g"))
    assert r.model_.record["schema"]["inputs"] == from_cli.record["schema"]["inputs"]
    np.testing.assert_allclose(r.model_.predict(X), from_cli.predict(X), rtol=1e-9)


def _config(tmp_path):
    p = tmp_path / "fast.toml"
    p.write_text("[model]\nhidden = [8]\n[training]\nepochs = 150\npatience = 20\n")
    return p
