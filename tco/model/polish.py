"""Newton polish of the GP solution on the full KKT system, in log space.

An interior-point solver stops when the *objective* gap is ~1e-10; near a flat optimum the *position* is then
only good to ~sqrt(gap) ~ 1e-5. A few Newton steps on the KKT conditions, started from the solver's point and
duals with the solver's active set, bring N and D to ~1e-12. This is deliberately not the 1-D reduction of
`exact.py`: the cross-check between the two stays independent.

With z = (log N, log D):  F(z) = sum_k w_k e^(i_k x + j_k y),  g(z) = a e^(-p x) + b e^(-q y) - 1 = 0,
active caps h_m(z) = i_m x + j_m y - log limit_m = 0;  grad F + mu grad g + sum lambda_m grad h_m = 0.
"""

from __future__ import annotations

import numpy as np

from .compile import Model

__all__ = ["polish"]


def polish(model: Model, params: float, tokens: float, loss_dual: float, cap_duals, *, iterations: int = 30):
    """Return polished (params, tokens, mu, lambdas, ok). mu, lambdas are multipliers for the raw objective.

    `ok` is False when Newton did not converge or the KKT signs disagree with the active set; the caller then
    keeps the solver's point.
    """
    loss = model.loss
    terms = [(t.n_exp, t.d_exp, t.weight(model.objective)) for t in model.active_terms]
    scale = float(model.objective_value(params, tokens))  # keeps the KKT numbers near 1
    active = [c for c, dual in zip(model.caps, cap_duals) if dual > 1e-7]
    z = np.array([np.log(params), np.log(tokens)])
    multipliers = np.array([loss_dual] + [d for d in cap_duals if d > 1e-7], dtype=float)
    # GP duals are log-sensitivities (d log F / d constraint) -> multipliers of F/scale (about 1 here).
    n_act = 1 + len(active)
    if n_act > 2:  # a vertex: loss and two caps meet; the solver's point is the vertex itself
        return params, tokens, np.nan, tuple(np.nan for _ in active), False
    ok = False
    for _ in range(iterations):
        x, y = z
        values = np.array([w * np.exp(i * x + j * y) for i, j, w in terms]) / scale
        grad_f = np.array([sum(v * i for v, (i, _, _) in zip(values, terms)),
                           sum(v * j for v, (_, j, _) in zip(values, terms))])
        hess_f = np.array([
            [sum(v * i * i for v, (i, _, _) in zip(values, terms)), sum(v * i * j for v, (i, j, _) in zip(values, terms))],
            [sum(v * i * j for v, (i, j, _) in zip(values, terms)), sum(v * j * j for v, (_, j, _) in zip(values, terms))],
        ])
        r_term, w_term = loss.a * np.exp(-loss.p * x), loss.b * np.exp(-loss.q * y)
        g = r_term + w_term - 1.0
        grad_g = np.array([-loss.p * r_term, -loss.q * w_term])
        hess_g = np.diag([loss.p**2 * r_term, loss.q**2 * w_term])
        jac_c = np.vstack([grad_g, *[[c.n_exp, c.d_exp] for c in active]])  # (n_act, 2)
        resid_c = np.array([g, *[c.n_exp * x + c.d_exp * y - np.log(c.limit) for c in active]])
        stationarity = grad_f + jac_c.T @ multipliers
        kkt = np.zeros((2 + n_act, 2 + n_act))
        kkt[:2, :2] = hess_f + multipliers[0] * hess_g
        kkt[:2, 2:] = jac_c.T
        kkt[2:, :2] = jac_c
        try:
            step = np.linalg.solve(kkt, -np.concatenate([stationarity, resid_c]))
        except np.linalg.LinAlgError:
            return params, tokens, np.nan, tuple(np.nan for _ in active), False
        z = z + step[:2]
        multipliers = multipliers + step[2:]
        if np.max(np.abs(step[:2])) < 1e-14 and np.max(np.abs(resid_c)) < 1e-14:
            ok = True
            break
        if np.max(np.abs(step[:2])) < 1e-13:
            ok = True
    n_out, d_out = float(np.exp(z[0])), float(np.exp(z[1]))
    ok = ok and bool(np.all(multipliers >= -1e-9)) and all(
        c.relative_slack(n_out, d_out) >= -1e-12 for c in model.caps
    )
    return n_out, d_out, float(multipliers[0] * scale), tuple(float(m * scale) for m in multipliers[1:]), ok
