#!/usr/bin/env python3
"""Regenerates data/authors-data.npz: the exact float32 datasets of Marion & Chizat's experiments,
drawn by the authors' own generator (not run in CI; needs JAX from PyPI, CPU is enough).

  python3 -m venv /tmp/jaxvenv && /tmp/jaxvenv/bin/pip install jax numpy
  git clone <the authors' repository PierreMarion23/implicit-reg-sharpness> AUTHORS
  git -C AUTHORS checkout 5188f6a2630477b87b5a852b396a7eb529058252
  /tmp/jaxvenv/bin/python scripts/authors-data.py AUTHORS            # from the repository root

It imports `generate_data` from the authors' utils.py and replays the PRNG key chain of their
run_experiment.py (`key = random.PRNGKey(0)`, one `random.split(key)` per use, in the script's
order) without running the experiments:

  linear:      split 1 → generate_data(50, 5, 1.0)   (figures 1–5)
               splits 2–8 (initialisations and estimator keys of figures 1, 3, 4, 5),
               splits 9–20 (3 per depth of figure 2's loop over L = 5, 10, 20, 40),
               split 21 → generate_data(15, 20, 1.0)  (figure 6)
  nonlinear:   split 1 → generate_data(50, 5, 0.0)   (figure 7, noise-free)

JAX's default PRNG implementation changed after the authors' jax 0.4.27 (threefry became
"partitionable"); the old one is switched back on below, without which the numbers differ.
Arrays: {train_x, train_y, test_x, test_y, w_star} for each of the settings n50_d5, n15_d20 and
n50_d5_noise0, as `<setting>_<array>`, float32 as JAX produced them.
"""
import sys

import jax
import numpy as np

jax.config.update("jax_threefry_partitionable", False)
from jax import random  # noqa: E402

sys.path.insert(0, sys.argv[1])
from utils import generate_data  # noqa: E402  (the authors' generator)


def split_chain(k):
    """The subkey of the k-th `key, subkey = random.split(key)` from PRNGKey(0)."""
    key = random.PRNGKey(0)
    for _ in range(k):
        key, subkey = random.split(key)
    return subkey


arrays = {}
for name, (n, d, noise, k) in {
    "n50_d5": (50, 5, 1.0, 1),
    "n15_d20": (15, 20, 1.0, 21),
    "n50_d5_noise0": (50, 5, 0.0, 1),
}.items():
    X, y, Xtest, ytest, w_star = generate_data(n, d, noise, split_chain(k))
    for a, v in {"train_x": X, "train_y": y, "test_x": Xtest, "test_y": ytest, "w_star": w_star}.items():
        arrays[f"{name}_{a}"] = np.asarray(v, dtype=np.float32)
    cov = np.asarray(X.T @ X / n)
    a_ = float(np.asarray(w_star) @ cov @ np.asarray(w_star))
    lam = float(np.max(np.real(np.linalg.eigvals(cov))))
    print(f"{name}: a = {a_:.7f}, Lambda = {lam:.7f}", file=sys.stderr)
np.savez("data/authors-data.npz", **arrays)
