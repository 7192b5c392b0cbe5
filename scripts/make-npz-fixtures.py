#!/usr/bin/env python3
"""Writes the numpy-made fixtures of tests/npz.rs into tests/fixtures/ (run from the repository root):

  mlp_f64.npz / mlp_f64.json            MLP d = 3, L = 3, n = 8, float64, C order
  residual_f32_fortran.npz / .json      residual d = 3, L = 2, n = 6, float32, W1 in Fortran order

Each .json holds the same arrays as a YAML instance file (JSON is YAML), numbers as float64 with
round-trip precision (float32 values widened exactly), so the test checks that dlncheck reads the
.npz into exactly the instance the .json describes. Needs only numpy; deterministic (seeded).
"""
import json
import numpy as np

rng = np.random.default_rng(12)


def instance(arch, x, y, ws, p=None):
    out = {"architecture": arch, "x": x.astype(np.float64).tolist(), "y": y.astype(np.float64).reshape(-1).tolist(),
           "weights": [w.astype(np.float64).tolist() for w in ws]}
    if p is not None:
        out["projection"] = p.astype(np.float64).tolist()
    out["meta"] = {"format": "npz"}
    return out


def write(stem, arrays, inst):
    np.savez(f"tests/fixtures/{stem}.npz", **arrays)
    with open(f"tests/fixtures/{stem}.json", "w") as f:
        json.dump(inst, f, indent=1)
        f.write("\n")


# MLP: W1, W2 are 3×3, W3 is 1×3; y a column vector (n×1), as a PyTorch export gives.
d, L, n = 3, 3, 8
x = rng.standard_normal((n, d))
y = x @ rng.standard_normal((d, 1)) + 0.1 * rng.standard_normal((n, 1))
ws = [0.5 * rng.standard_normal((d, d)) for _ in range(L - 1)] + [0.5 * rng.standard_normal((1, d))]
write("mlp_f64", dict(x=x, y=y, **{f"W{k + 1}": w for k, w in enumerate(ws)}), instance("mlp", x, y, ws))

# Residual: float32 everywhere, W1 stored in Fortran order, p a vector.
d, L, n = 3, 2, 6
x = rng.standard_normal((n, d)).astype(np.float32)
y = rng.standard_normal(n).astype(np.float32)
ws = [(np.eye(d) + 0.3 * rng.standard_normal((d, d))).astype(np.float32) for _ in range(L)]
p = rng.standard_normal(d).astype(np.float32)
w1_fortran = np.asfortranarray(ws[0])
assert w1_fortran.flags.f_contiguous and not w1_fortran.flags.c_contiguous
write("residual_f32_fortran", dict(x=x, y=y, W1=w1_fortran, W2=ws[1], p=p), instance("residual", x, y, ws, p))
