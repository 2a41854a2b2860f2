"""The one exact 1-D kernel (tco.solve): closed forms, the primer's optimality condition, vectorization, caps,
general monomials and the repeated-data curve against brute-force scans along the iso-loss curve."""

import numpy as np
import pytest
from scipy.optimize import brentq

from tco import get_law
from tco.model.repetition import effective_tokens
from tco.solve.curve import PlainCurve, RepeatedCurve
from tco.solve.exact import cap_interval, solve_curve, solve_exact


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
    curve = PlainCurve(c.a, c.p, c.b, c.q)
    n_inf = c.a ** (1 / c.p)  # size needed with infinite data
    lo, hi = cap_interval(curve, 1, 0, n_inf * 0.99)
    assert lo > hi  # below the infinite-data size: empty
    lo, hi = cap_interval(curve, 1, 0, 3e10)
    assert lo == -300.0 and hi < 300.0  # a size cap keeps the data-heavy end
    assert np.exp(curve.logs(hi)[0]) == pytest.approx(3e10, rel=1e-14)
    lo, hi = cap_interval(curve, 0, 1, 3e12)
    assert lo > -300.0 and hi == 300.0
    assert np.exp(curve.logs(lo)[1]) == pytest.approx(3e12, rel=1e-14)
    lo, hi = cap_interval(curve, -1, 0, 1 / 3e10)  # N >= 3e10
    assert hi == 300.0 and np.exp(curve.logs(lo)[0]) == pytest.approx(3e10, rel=1e-14)
    # Compute cap: feasible only if at least the compute-optimal FLOPs are allowed.
    n_c, d_c = law.chinchilla_point(1.947)
    lo, hi = cap_interval(curve, 1, 1, n_c * d_c * 0.999)
    assert lo > hi
    lo, hi = cap_interval(curve, 1, 1, n_c * d_c * 1.5)
    assert lo < hi
    for z in (lo, hi):
        log_n, log_d = curve.logs(z)
        assert np.exp(log_n + log_d) == pytest.approx(n_c * d_c * 1.5, rel=1e-13)
    assert cap_interval(curve, 1, 1, np.inf) == (-300.0, 300.0)
    assert cap_interval(curve, 1, 0, 0.0)[0] == np.inf  # a limit of 0 (an empty regime) allows nothing


# --- brute force along the curve --------------------------------------------------------------------------
def _brute_force(curve, terms, caps, lo=-40.0, hi=40.0, points=2001, rounds=4):
    """Cheapest point of a zeta grid (caps as masks), zoomed in around the minimum: (cost, N, D, found)."""
    shape = curve.shape
    lo, hi = np.full(shape, lo), np.full(shape, hi)
    found = None
    for _ in range(rounds):
        z = lo[..., None] + (hi - lo)[..., None] * np.linspace(0, 1, points)
        log_n, log_d = curve.logs(z) if not curve.shape else _logs_broadcast(curve, z)
        with np.errstate(invalid="ignore"):  # unreachable elements (repetition) have no curve: NaN
            cost = sum(np.asarray(w, float)[..., None] * np.exp(i * log_n + j * log_d) for i, j, w in terms)
            ok = np.isfinite(cost)
            for i, j, lim in caps:
                ok &= i * log_n + j * log_d <= np.log(np.asarray(lim, float))[..., None] + 1e-12
        cost = np.where(ok, cost, np.inf)
        k = np.argmin(cost, axis=-1)
        found = ok.any(axis=-1) if found is None else found
        step = (hi - lo) / (points - 1)
        best = np.take_along_axis(z, k[..., None], -1)[..., 0]
        lo, hi = best - 2 * step, best + 2 * step
    idx = k[..., None]
    pick = lambda v: np.take_along_axis(v, idx, -1)[..., 0]  # noqa: E731
    return pick(cost), np.exp(pick(log_n)), np.exp(pick(log_d)), found


def _logs_broadcast(curve, z):
    """curve.logs on a (elements, grid) array: the curve's numbers get a trailing grid axis."""
    cls = RepeatedCurve if curve.repeated else PlainCurve
    numbers = [curve.a, curve.p, curve.b, curve.q] + ([curve.u] if curve.repeated else [])
    return cls(*[np.asarray(v)[..., None] for v in numbers]).logs(z)


def _random_laws(n, rng):
    laws = [get_law(name) for name in ("hoffmann2022", "sardana2024", "besiroglu2024", "muennighoff2023")]
    a, p, b, q = (np.empty(n) for _ in range(4))
    for k in range(n):
        law = laws[k % len(laws)]
        size = 10 ** rng.uniform(8.5, 11.5)
        c = law.constraint(law.loss(size, law.compute_optimal_tokens(size)))
        a[k], p[k], b[k], q[k] = c.a, c.p, c.b, c.q
    return a, p, b, q


def test_general_monomials_match_brute_force_with_caps_zero_weights_and_infeasibility():
    """A roofline-like memory regime: N D, N, N^(2/3) (KV reads), D, with N, D, N D caps and a crossover
    N <= N*; some weights zero (a sweep at zero demand); some elements infeasible."""
    rng = np.random.default_rng(11)
    n = 600
    a, p, b, q = _random_laws(n, rng)
    curve = PlainCurve(a, p, b, q)
    n_c, d_c = (a * (p + q) / q) ** (1 / p), (b * (p + q) / p) ** (1 / q)
    terms = [(1, 1, 6 * 10 ** rng.uniform(-19, -17, n)),
             (1, 0, np.where(rng.random(n) < 0.2, 0.0, 2 * 10 ** rng.uniform(-12, 1, n))),
             (2 / 3, 0, np.where(rng.random(n) < 0.3, 0.0, 10 ** rng.uniform(-6, 3, n))),
             (0, 1, np.where(rng.random(n) < 0.5, 0.0, 10 ** rng.uniform(-12, -6, n)))]
    caps = [(1, 0, np.where(rng.random(n) < 0.5, np.inf, n_c * 10 ** rng.uniform(-0.5, 0.5, n))),
            (0, 1, np.where(rng.random(n) < 0.5, np.inf, d_c * 10 ** rng.uniform(-0.5, 1, n))),
            (1, 1, np.where(rng.random(n) < 0.5, np.inf, n_c * d_c * 10 ** rng.uniform(-0.2, 1, n))),
            (-1, 0, np.where(rng.random(n) < 0.7, np.inf, 1 / (n_c * 10 ** rng.uniform(-1, 0.3, n))))]
    sol = solve_curve(curve, terms, caps)
    cost, n_bf, d_bf, found = _brute_force(curve, terms, caps)
    assert 0.5 < sol.feasible.mean() < 0.97
    assert not np.any(found & ~sol.feasible)  # brute force found a design: the kernel must too
    f = sol.feasible & found
    assert np.all(sol.objective[f] <= cost[f] * (1 + 1e-12))  # never worse than any grid point
    assert np.max(np.abs(sol.objective[f] / cost[f] - 1)) < 1e-9
    assert np.max(np.abs(sol.params[f] / n_bf[f] - 1)) < 1e-4  # positions of a flat minimum: ~sqrt(1e-9)
    assert np.all(np.isnan(sol.params[~sol.feasible])) and not sol.binding[:, ~sol.feasible].any()
    for m, (i, j, lim) in enumerate(caps):  # a cap binds exactly where its relative slack is ~0
        value = sol.params[f] ** i * sol.tokens[f] ** j
        assert np.all(value <= lim[f] * (1 + 1e-12))
        assert np.array_equal(sol.binding[m][f], value >= lim[f] * (1 - 1e-9))


def test_two_caps_of_one_shape_only_the_tighter_binds():
    c = get_law("sardana2024").constraint(1.947)
    sol = solve_exact(c.a, c.p, c.b, c.q, [(1, 1, 6.0), (1, 0, 2e12)], [(1, 0, 2e10), (1, 0, 2.5e10), (1, 0, 2e10)])
    assert list(sol.binding) == [True, False, True]
    assert float(sol.params) == pytest.approx(2e10, rel=1e-14)


def test_repeated_curve_matches_brute_force():
    """Data repetition (Muennighoff et al. 2023): unique tokens per element, caps on the real N and D."""
    rng = np.random.default_rng(12)
    n = 300
    a, p, b, q = _random_laws(n, rng)
    d_c = (b * (p + q) / p) ** (1 / q)
    unique = d_c * 10 ** rng.uniform(-2.5, 0.5, n)  # some need many epochs, a few cannot reach the target
    curve = RepeatedCurve(a, p, b, q, unique)
    terms = [(1, 1, np.full(n, 6e-18)), (1, 0, 2 * 10 ** rng.uniform(-10, -4, n)),
             (0, 1, np.where(rng.random(n) < 0.5, 0.0, 10 ** rng.uniform(-12, -8, n)))]
    caps = [(1, 0, np.where(rng.random(n) < 0.6, np.inf, (a ** (1 / p)) * 10 ** rng.uniform(0.3, 1.5, n))),
            (1, 1, np.where(rng.random(n) < 0.6, np.inf, d_c**2 * 10 ** rng.uniform(-1.5, 1, n)))]
    sol = solve_curve(curve, terms, caps)
    assert 0.3 < sol.feasible.mean() < 1 and not curve.reachable.all()
    reach = curve.reachable
    cost, n_bf, _, found = _brute_force(curve, terms, caps, lo=np.where(reach, np.maximum(curve.lo, -40), 0) + 1e-9)
    found &= reach
    assert not np.any(found & ~sol.feasible)
    f = sol.feasible & found
    assert np.all(sol.objective[f] <= cost[f] * (1 + 1e-12))
    # at a binding cap many epochs make the cost steep: the grid's nearest feasible point is then too coarse
    free = f & ~sol.binding.any(axis=0)
    assert np.max(np.abs(sol.objective[free] / cost[free] - 1)) < 1e-9
    for m, (i, j, lim) in enumerate(caps):
        held = f & sol.binding[m]
        assert np.max(np.abs(sol.params[held] ** i * sol.tokens[held] ** j / lim[held] - 1)) < 1e-12
    # the design is on the iso-loss curve of the effective data D'(D) of the real D
    d_eff = (b[f] / (1 - a[f] * sol.params[f] ** -p[f])) ** (1 / q[f])
    assert np.max(np.abs(effective_tokens(sol.tokens[f], unique[f]) / d_eff - 1)) < 1e-12
    assert np.any(sol.tokens[f] > 4 * unique[f])  # many epochs are exercised


def test_newton_bracket_holds_with_the_kv_term():
    """fast.py's log-ratio function was not guaranteed monotone with an N^(2/3) term; the kernel's bracket
    comes from the sign of d log cost / d zeta, so it cannot lose the root: compare with a dense scan of the
    sign of that derivative for extreme KV weights."""
    c = get_law("hoffmann2022").constraint(1.95)
    curve = PlainCurve(c.a, c.p, c.b, c.q)
    kv = np.logspace(-8, 8, 200)
    sol = solve_curve(curve, [(1, 1, 6e-18), (1, 0, 1e-9), (2 / 3, 0, kv)])
    z = np.linspace(-30, 30, 600_001)
    log_n, log_d = curve.logs(z)
    for k in (0, 77, 150, 199):
        cost = 6e-18 * np.exp(log_n + log_d) + 1e-9 * np.exp(log_n) + kv[k] * np.exp(2 / 3 * log_n)
        assert float(sol.zeta[k]) == pytest.approx(z[np.argmin(cost)], abs=2e-4)
