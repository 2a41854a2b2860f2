"""Newton polish of the GP solution on the full KKT system, in log space, with an active-set loop.

An interior-point solver stops when the *objective* gap is ~1e-10; near a flat optimum the *position* is then
only good to ~sqrt(gap) ~ 1e-5. A few Newton steps on the KKT conditions, started from the solver's point and
duals, bring N and D to ~1e-14. This is deliberately not the 1-D reduction of `exact.py`: the cross-check
between the two stays independent.

With z = (log N, log D):  F(z) = sum_k w_k e^(i_k x + j_k y),  g(z) = a e^(-p x) + b e^(-q y) - 1 = 0 (plus the
quantization penalty's c e^(gd y - gn x) when `serving.quantization` adds one),
active caps h_m(z) = i_m x + j_m y - log limit_m = 0 (for a posynomial cap, the log of its left side minus
log limit_m, whose Hessian enters the Lagrangian's);  grad F + mu grad g + sum lambda_m grad h_m = 0.

The solver's duals only suggest which caps are active: a cap slack by 1e-6 can still carry a dual of 1e-6.
So the active set is corrected until the KKT signs agree: a cap with a negative multiplier is released, a
violated cap is added.
"""

from __future__ import annotations

import numpy as np

from ..model.build import Model

__all__ = ["polish"]

_DUAL_ACTIVE = 1e-7


def polish(model: Model, params: float, tokens: float, loss_dual: float, cap_duals, *, iterations: int = 30):
    """Return polished (params, tokens, mu, lambdas, ok); mu and lambdas are multipliers for the raw objective.

    `lambdas` has one entry per cap of the model (0 for inactive caps). `ok` is False when no consistent active
    set was found (e.g. a vertex where the loss and two caps meet); the caller then keeps the solver's point.
    """
    scale = float(model.objective_value(params, tokens))  # keeps the KKT numbers near 1
    caps = list(model.caps)
    active = [m for m, dual in enumerate(cap_duals) if dual > _DUAL_ACTIVE]
    start = np.array([np.log(params), np.log(tokens)])
    duals = dict(enumerate(cap_duals))
    failed = (params, tokens, np.nan, tuple(np.nan for _ in caps), False)
    for _ in range(len(caps) + 3):
        if len(active) > 1:  # loss + two caps: a vertex, fixed by the caps alone; nothing to polish
            return failed
        multipliers = np.array([loss_dual] + [duals[m] for m in active], dtype=float)
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging Newton run is detected and refused
            solved = _newton(model, [caps[m] for m in active], start, multipliers, scale, iterations)
        if solved is None:
            return failed
        z, multipliers = solved
        n_out, d_out = float(np.exp(z[0])), float(np.exp(z[1]))
        negative = [m for m, lam in zip(active, multipliers[1:]) if lam < -1e-9]
        violated = [m for m, cap in enumerate(caps) if m not in active and cap.relative_slack(n_out, d_out) < -1e-12]
        if negative:
            active = [m for m in active if m not in negative]
        elif violated:
            active = sorted(active + violated[:1])
            duals[violated[0]] = 0.0
        elif multipliers[0] > 0:
            lambdas = [0.0] * len(caps)
            for m, lam in zip(active, multipliers[1:]):
                lambdas[m] = float(lam * scale)
            return n_out, d_out, float(multipliers[0] * scale), tuple(lambdas), True
        else:
            return failed
    return failed


def _cap_row(cap, z):
    """(h, grad h, Hessian of h) of an active cap at z: h = log(left side) - log limit."""
    lead = np.array([cap.n_exp, cap.d_exp], dtype=float)
    extra = getattr(cap, "extra", ())
    if not extra:  # the monomial row, written as ever
        return cap.n_exp * z[0] + cap.d_exp * z[1] - np.log(cap.limit), lead, np.zeros((2, 2))
    exps = np.array([lead, *[[i, j] for i, j, _ in extra]], dtype=float)
    logs = exps @ z + np.log([1.0, *[w for *_, w in extra]])
    top = logs.max()
    shares = np.exp(logs - top)
    total = shares.sum()
    shares = shares / total
    grad = exps.T @ shares
    hess = (exps * shares[:, None]).T @ exps - np.outer(grad, grad)
    return float(top + np.log(total) - np.log(cap.limit)), grad, hess


def _newton(model: Model, active, z, multipliers, scale: float, iterations: int):
    """Newton on the KKT system for a fixed active set; None when it does not converge."""
    loss = model.loss
    terms = [(t.n_exp, t.d_exp, t.weight(model.objective)) for t in model.active_terms]
    exps = np.array([(i, j) for i, j, _ in terms], dtype=float)  # (K, 2)
    weights = np.array([w for *_, w in terms]) / scale
    n_act = 1 + len(active)
    for _ in range(iterations):
        x, y = z
        values = weights * np.exp(exps @ z)
        grad_f = exps.T @ values
        hess_f = (exps * values[:, None]).T @ exps
        r_term, w_term = loss.a * np.exp(-loss.p * x), loss.b * np.exp(-loss.q * y)
        grad_g = np.array([-loss.p * r_term, -loss.q * w_term])
        hess_g = np.diag([loss.p**2 * r_term, loss.q**2 * w_term])
        if loss.penalized:  # the quantization penalty c e^(gd y - gn x): its gradient and (rank-one) Hessian
            slope = np.array([-loss.gn, loss.gd], dtype=float)
            c_term = loss.c * np.exp(slope @ z)
            w_term = w_term + c_term  # enters the residual below with the other two terms
            grad_g = grad_g + c_term * slope
            hess_g = hess_g + c_term * np.outer(slope, slope)
        rows = [_cap_row(c, z) for c in active]
        jac_c = np.vstack([grad_g, *[grad for _, grad, _ in rows]])  # (n_act, 2)
        resid_c = np.array([r_term + w_term - 1.0, *[value for value, _, _ in rows]])
        kkt = np.zeros((2 + n_act, 2 + n_act))
        kkt[:2, :2] = hess_f + multipliers[0] * hess_g
        for lam, (_, _, hess) in zip(multipliers[1:], rows):
            if hess.any():  # a posynomial cap's curvature
                kkt[:2, :2] += lam * hess
        kkt[:2, 2:] = jac_c.T
        kkt[2:, :2] = jac_c
        try:
            step = np.linalg.solve(kkt, -np.concatenate([grad_f + jac_c.T @ multipliers, resid_c]))
        except np.linalg.LinAlgError:
            return None
        if not np.all(np.isfinite(step)):
            return None
        z = z + step[:2]
        multipliers = multipliers + step[2:]
        if np.max(np.abs(step[:2])) < 1e-13:
            return z, multipliers
    # Rounding can keep steps just above 1e-13; a last step of 1e-10 in log N is still ten thousand times
    # inside the 1e-6 the cross-check demands.
    return (z, multipliers) if np.max(np.abs(step[:2])) < 1e-10 else None
