"""The README's Python example: fit, predict with uncertainty, list priors, save (run by
scripts/test, and by python/tests/test_readme.py from the README itself)."""

import os
from pathlib import Path

os.chdir(Path(__file__).resolve().parents[2])  # the repository root, as in the README
# --- README example begins ---
import os
import tempfile

import numpy as np
import pandas as pd

import credence

df = pd.read_csv("data/penguins/penguins.csv")
X, y = df.drop(columns=["body_mass_g"]), df["body_mass_g"]

model = credence.BayesianRegressor(
    method="laplace",
    likelihood="gaussian",  # one noise sd, with the factual prior below (the default is heteroscedastic)
    hidden=[16],
    missing="impute",  # text, boolean and missing cells go through the CLI's schema
    priors=[
        credence.Prior(params="*.weight", dist=credence.Normal(0, 1),
                       provenance=credence.Default(source="unit-scale weights on standardised data")),
        credence.Prior(params="*.bias", dist=credence.Normal(0, 1),
                       provenance=credence.Default(source="unit-scale biases")),
        credence.Prior(params="noise", dist=credence.Gamma(6, 6), on="precision",
                       provenance=credence.Factual(source="noise near the target's sd in past seasons")),
    ],
    verbose=False,
).fit(X, y)

p = model.predictive(X.head(3))          # mean, total, epistemic and aleatoric sd (grams)
print(np.round(p.mean), np.round(p.std), np.round(p.epistemic_std), np.round(p.aleatoric_std))
for prior in model.priors_:              # Laplace tunes the priors on the evidence: factual
    print(prior.params, prior.dist, prior.provenance.describe(), prior.groups)
model.save(os.path.join(tempfile.mkdtemp(), "mass"))  # a folder `credence predict` reads
# --- README example ends ---
assert np.all(p.std > p.epistemic_std) and len(model.priors_) == 3
