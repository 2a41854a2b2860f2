"""The independent 1-D solver: closed forms, the primer's optimality condition, vectorization, caps."""

import numpy as np
import pytest
from scipy.optimize import brentq

from tco import get_law
from tco.model.exact import cap_interval, solve_exact


def test_no_inference_gives_the_chinchilla_point():
    law = get_law("sardana2024")
    c = law.constraint(1.947)
    sol = solve_exact(c.a, c.p, c.b, c.q, [(1, 1, 6.0)])
    n, d = law.chinchilla_point(1.947)
    assert float(sol.params) == pytest.approx(n, rel=1e-12)
    assert float(sol.tokens) == pytest.approx(d, rel=1e-12)


@pytest.mark.parametrize("inference_tokens", [1e9, 2e12, 1e14, 1e16])
def test_matches_the_primer_optimality_condition(inference_tokens):
    """(B + beta B/alpha) D^-beta + (beta B k_i/(alpha k_t)) D^(-beta-1) + E - l = 0, solved with brentq."""
    law, loss = get_law("hoffmann2022"), 2.0
    kt, ki = 6.0, 2.0 * inference_tokens
    A, B, E, al, be = law.A, law.B, law.E, law.alpha, law.beta

    def f(d):
        return (B + be * B / al) * d**-be + be * B * ki / (al * kt) * d ** (-be - 1) + E - loss

    d_ref = brentq(f, 1e6, 1e20, xtol=1e-300, rtol=1e-15, maxiter=500)
    n_ref = (A / (loss - E - B * d_ref**-be)) ** (1 / al)
    c = law.constraint(loss)
    sol = solve_exact(c.a, c.p, c.b, c.q, [(1, 1, kt), (1, 0, ki)])
    assert float(sol.tokens) == pytest.approx(d_ref, rel=1e-11)
    assert float(sol.params) == pytest.approx(n_ref, rel=1e-11)


def test_vectorized_solve_matches_scalar_solves():
    law = get_law("besiroglu2024")
    c = law.constraint(2.1)
    demand = np.logspace(9, 16, 50)
    caps = [(1, 0, 5e10), (0, 1, np.where(demand > 1e14, 2e13, np.inf))]
    batch = solve_exact(c.a, c.p, c.b, c.q, [(1, 1, 6.0), (1, 0, 2 * demand)], caps)
    assert batch.params.shape == (50,)
    for k in (0, 17, 49):
        one = solve_exact(c.a, c.p, c.b, c.q, [(1, 1, 6.0), (1, 0, 2 * demand[k])],
                          [(1, 0, 5e10), (0, 1, 2e13 if demand[k] > 1e14 else np.inf)])
        assert float(one.params) == pytest.approx(batch.params[k], rel=1e-13)
        assert float(one.tokens) == pytest.approx(batch.tokens[k], rel=1e-13)
    assert np.all(np.diff(batch.params[demand < 1e14]) < 0)  # more demand -> smaller model
    assert batch.binding[1][demand > 1e15].all()  # the data cap binds at high demand


def test_cap_intervals():
    law = get_law("sardana2024")
    c = law.constraint(1.947)
    n_inf = c.a ** (1 / c.p)  # size needed with infinite data
    lo, hi = cap_interval(1, 0, n_inf * 0.99, c.a, c.p, c.b, c.q)
    assert lo > hi  # below the infinite-data size: empty
    lo, hi = cap_interval(1, 0, 3e10, c.a, c.p, c.b, c.q)
    assert lo == -300.0 and hi < 300.0  # a size cap keeps the data-heavy end
    lo, hi = cap_interval(0, 1, 3e12, c.a, c.p, c.b, c.q)
    assert lo > -300.0 and hi == 300.0
    # Compute cap: feasible only if at least the compute-optimal FLOPs are allowed.
    n_c, d_c = law.chinchilla_point(1.947)
    lo, hi = cap_interval(1, 1, n_c * d_c * 0.999, c.a, c.p, c.b, c.q)
    assert lo > hi
    lo, hi = cap_interval(1, 1, n_c * d_c * 1.5, c.a, c.p, c.b, c.q)
    assert lo < hi
