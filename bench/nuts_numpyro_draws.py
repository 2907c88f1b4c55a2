"""NumPyro NUTS on the UCI BNN, printing per-draw quantities so that `credence bench nuts`
computes every ESS with the same estimator for both samplers.

Same model and settings as peers/uci/nuts_numpyro.py in the shared folder (13 -> 50 tanh -> 1,
N(0, 1) weights and biases, noise precision tau ~ Gamma(6, 6), standardised data, one chain,
500 warm-up + 500 draws, float64, target acceptance 0.8, max tree depth 10). Needs that
folder's uci.py on the path (pass --peers). Prints one JSON line.
"""
import argparse, json, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--peers", required=True, help="folder holding uci.py (peers/uci)")
ap.add_argument("--uci-root", default=None)
ap.add_argument("--dataset", default="bostonHousing")
ap.add_argument("--split", type=int, default=0)
ap.add_argument("--hidden", type=int, default=50)
ap.add_argument("--warmup", type=int, default=500)
ap.add_argument("--samples", type=int, default=500)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--test-points", type=int, default=5)
a = ap.parse_args()
sys.path.insert(0, a.peers)

import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.infer import MCMC, NUTS
from uci import load_split, gaussian_mixture_test_ll, rmse


def bnn(X, y=None, H=50):
    D = X.shape[1]
    W1 = numpyro.sample("W1", dist.Normal(0.0, 1.0).expand([D, H]).to_event(2))
    b1 = numpyro.sample("b1", dist.Normal(0.0, 1.0).expand([H]).to_event(1))
    W2 = numpyro.sample("W2", dist.Normal(0.0, 1.0).expand([H]).to_event(1))
    b2 = numpyro.sample("b2", dist.Normal(0.0, 1.0))
    tau = numpyro.sample("tau", dist.Gamma(6.0, 6.0))
    f = jnp.tanh(X @ W1 + b1) @ W2 + b2
    numpyro.sample("y", dist.Normal(f, 1.0 / jnp.sqrt(tau)), obs=y)


d = load_split(a.dataset, a.split, a.uci_root)
X, y = jnp.asarray(d["Xtr"]), jnp.asarray(d["ytr"])
mcmc = MCMC(NUTS(bnn, max_tree_depth=10, target_accept_prob=0.8), num_warmup=a.warmup,
            num_samples=a.samples, num_chains=1, progress_bar=False)
key = jax.random.PRNGKey(a.seed)
t0 = time.perf_counter()
mcmc.warmup(key, X, y, H=a.hidden, extra_fields=("num_steps",), collect_warmup=False)
jax.block_until_ready(mcmc.post_warmup_state.z)
t1 = time.perf_counter()
mcmc.run(mcmc.post_warmup_state.rng_key, X, y, H=a.hidden,
         extra_fields=("num_steps", "diverging", "potential_energy"))
s = mcmc.get_samples()
jax.block_until_ready(s["tau"])
t2 = time.perf_counter()
ex = mcmc.get_extra_fields()
Xte = jnp.asarray(d["Xte"])
f_te = np.asarray(jax.vmap(lambda W1, b1, W2, b2: jnp.tanh(Xte @ W1 + b1) @ W2 + b2)(
    s["W1"], s["b1"], s["W2"], s["b2"]))
mu_raw = f_te * d["sy"] + d["my"]
var_raw = (d["sy"] ** 2) / np.asarray(s["tau"])[:, None]
print(json.dumps(dict(
    seed=a.seed, numpyro=numpyro.__version__, jax=jax.__version__,
    wall_warmup_s=t1 - t0, wall_sampling_s=t2 - t1,
    leapfrog_steps_sampling=int(np.asarray(ex["num_steps"]).sum()),
    divergences=int(np.asarray(ex["diverging"]).sum()),
    tau=np.asarray(s["tau"]).tolist(),
    log_density=(-np.asarray(ex["potential_energy"])).tolist(),
    f_test=f_te[:, :a.test_points].T.tolist(),
    test_rmse=rmse(mu_raw.mean(0), d["yte_raw"]),
    test_ll=gaussian_mixture_test_ll(mu_raw, var_raw, d["yte_raw"]),
)))
