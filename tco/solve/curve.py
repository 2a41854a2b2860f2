"""The iso-loss curve, parametrized by one coordinate: plain data, and repeated data (Muennighoff et al. 2023).

The loss constraint binds at the optimum (every cost term grows with N and D), so the optimum lies on the
iso-loss curve ``a N^-p + b D'^-q = 1``, with D' = D for fresh data and D' = D'(D) (primer, section 3) when U
unique tokens are repeated. Both curves are walked with the logit of the share of the data term,
``zeta = log(w / r)`` with ``w = b D'^-q`` and ``r = a N^-p = 1 - w``:

    log N  = (log a + softplus(zeta)) / p          log D' = (log b + softplus(-zeta)) / q

which covers the plain curve from N -> infinity (zeta -> +inf) to D -> infinity (zeta -> -inf) with full
precision at both ends. With repetition the real data is ``log D = h(log D')``, the closed-form inverse of the
Muennighoff map, ``D = U (1 - R ln(1 - (D'/U - 1) / R))`` above one epoch; D -> infinity as D' reaches the
saturation U (1 + R), so the repeated curve ends at ``zeta_sat`` (where D' = U (1 + R)) instead of -infinity.
With the parameter half (Muennighoff et al. 2023, eq. 6) the curve is walked in (log N', log D') and the real
size is ``log N = h_N(log N')``, the same inverse map with R*_N over the base U_N: a second effective map, so the
curve also ends at the N side, where N' reaches U_N (1 + R*_N) and N -> infinity.

Log-convexity (what makes every solve a monotone bracket): softplus is convex, so log N and log D' are convex
in zeta; h is convex and increasing (h' = (D'/U) / ((D/U) (1 - frac)) grows with D'), so log D = h(log D') is
convex too, and likewise log N = h_N(log N'). A posynomial cost ``sum_k w_k N^i_k D^j_k`` with w_k >= 0 and
i_k, j_k >= 0 is then log-convex in zeta (log-sum-exp of convex functions), so d log cost / d zeta increases
and changes sign once; a monomial cap ``N^i D^j <= L`` with i, j >= 0 is convex in log space along the curve
(an interval of zeta), and a bound on N or D alone is monotone along it (a half-line).
"""

from __future__ import annotations

import numpy as np

from ..model.repetition import PARAMS_SATURATION, R_D, R_N, SATURATION
from ..numeric import safeguarded_root

__all__ = ["ZETA_MIN", "ZETA_MAX", "PlainCurve", "RepeatedCurve", "curve_point", "log_expm1", "softplus", "part",
           "R_D", "SATURATION"]

#: The plain curve is followed for zeta in this range: w from e^-300 to 1 - e^-300, far beyond any real design.
ZETA_MIN, ZETA_MAX = -300.0, 300.0


def log_expm1(x):
    """log(e^x - 1) without overflow (x > 0; -inf at 0, NaN below): x + log(1 - e^-x), accurate for small x too."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return x + np.log(-np.expm1(-x))


def softplus(x):
    """log(1 + e^x) for any real x, to ~1e-16 relative: max(x, 0) + log1p(e^-|x|) (never overflows). Half the
    cost of np.logaddexp(0, x), which handles two general arguments."""
    x = np.asarray(x, dtype=float)
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _softplus_and_shares(zeta):
    """softplus(zeta), w = sigmoid(zeta), r = 1 - w, for zeta within [ZETA_MIN, ZETA_MAX] = [-300, 300], where
    e^zeta neither overflows nor underflows: one exp, one log1p (which `softplus` matches to 1e-15 relative
    there, tests/test_speed_paths.py), and the shares from the same exponential."""
    e = np.exp(zeta)
    r = 1.0 / (1.0 + e)
    return np.log1p(e), e * r, r


def part(x, shape, start: int, stop: int):
    """Elements start:stop of `x` broadcast to `shape` and flattened (C order), without expanding all of it; a
    scalar stays a scalar."""
    if np.ndim(x) == 0:
        return x
    if np.shape(x) == tuple(shape) and isinstance(x, np.ndarray) and x.flags.c_contiguous:
        return x.reshape(-1)[start:stop]  # a view
    return np.broadcast_to(x, shape).flat[start:stop]


def curve_point(zeta, a, p, b, q):
    """(log N, log D) of the point `zeta` on the plain iso-loss curve (any zeta)."""
    log_n = (np.log(a) + softplus(zeta)) / p
    log_d = (np.log(b) + softplus(-np.asarray(zeta, dtype=float))) / q
    return log_n, log_d


class PlainCurve:
    """``a N^-p + b D^-q = 1`` (arrays broadcast). `lo`, `hi`: the zeta domain; `reachable`: it is not empty."""

    repeated = False

    def __init__(self, a, p, b, q):
        self.a, self.p, self.b, self.q = (np.asarray(v, dtype=float) for v in (a, p, b, q))
        self.la, self.lb = np.log(self.a), np.log(self.b)
        self.log_qp = np.log(self.q / self.p)
        shape = np.broadcast(self.la, self.lb, self.p, self.q).shape
        self.lo, self.hi = np.full(shape, ZETA_MIN), np.full(shape, ZETA_MAX)
        self.reachable = np.ones(shape, dtype=bool)

    @property
    def shape(self):
        return self.lo.shape

    def start(self):
        """A first guess for the optimum: the compute-optimal (Chinchilla) point of the plain curve, rho = 1."""
        return -self.log_qp + np.zeros(self.shape)

    def take(self, idx, shape):
        """The same curve at the flat indices `idx` of its numbers broadcast to `shape`."""
        flat = [np.broadcast_to(v, shape).ravel()[idx] for v in (self.a, self.p, self.b, self.q)]
        return PlainCurve(*flat)

    def part(self, shape, start: int, stop: int):
        """The same curve at elements start:stop of its numbers broadcast to `shape` and flattened (C order):
        a chunk of the kernel (`tco.solve.exact.KERNEL_CHUNK`), without expanding every element."""
        return PlainCurve(*(part(v, shape, start, stop) for v in (self.a, self.p, self.b, self.q)))

    def logs(self, zeta):
        """(log N, log D) at zeta."""
        sp, _, _ = _softplus_and_shares(zeta)
        return (self.la + sp) / self.p, (self.lb + sp - zeta) / self.q

    def slopes(self, zeta):
        """log N, log D and their zeta-derivatives dn, dd, then ``log(dn / -dd) - zeta`` (log(q/p) on the plain
        curve, log(q/p) - log h' with repetition) and its zeta-derivative."""
        sp, w, r = _softplus_and_shares(zeta)
        return (self.la + sp) / self.p, (self.lb + sp - zeta) / self.q, w / self.p, -r / self.q, self.log_qp, 0.0

    # --- where a bound on N or D alone meets the curve (closed forms) --------------------------------------
    def zeta_of_log_params(self, log_n):
        """zeta where log N = log_n (-inf where even N -> N_inf = a^(1/p) is larger: log N > log_n everywhere)."""
        room = self.p * log_n - self.la
        return np.where(room > 0, log_expm1(np.where(room > 0, room, 1.0)), -np.inf)

    def zeta_of_log_tokens(self, log_d):
        """zeta where log D = log_d (+inf where even D -> infinity is not enough... i.e. log D > log_d everywhere)."""
        return self._zeta_of_log_effective(log_d)

    def _zeta_of_log_effective(self, log_e):
        room = self.q * log_e - self.lb
        return np.where(room > 0, -log_expm1(np.where(room > 0, room, 1.0)), np.inf)

    def balance(self, n_exp, d_exp):
        """zeta where n_exp d log N + d_exp d log D = 0 (the bottom of a product cap's log along the curve)."""
        return np.log(d_exp * self.p / (n_exp * self.q)) + np.zeros(self.shape)

    def product_roots(self, n_exp, d_exp, log_limit, lo, bottom, hi, tol=1e-13, steps=60):
        """The two roots of m = n_exp log N + d_exp log D - log_limit around its minimum `bottom`, clipped to
        [lo, bottom] and [bottom, hi] (m(bottom) <= 0 assumed where it matters).

        m is convex in zeta and lies above its linear asymptotes (softplus does), so Newton started at the
        asymptotes' roots stays outside the true roots and converges monotonically: no safeguard needed."""
        kn, kd = n_exp / self.p, d_exp / self.q
        const = kn * self.la + kd * self.lb - log_limit
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            # zeta -> -inf: m ~ const - kd zeta;  zeta -> +inf: m ~ const + kn zeta
            z = np.stack(np.broadcast_arrays(np.clip(const / kd, lo, bottom), np.clip(-const / kn, bottom, hi)))
            # converged roots are frozen, so a root does not depend on which other elements share the call
            # (the kernel's chunks, tco.solve.exact.KERNEL_CHUNK)
            moving = np.ones(z.shape, dtype=bool)
            for _ in range(steps):
                e = np.exp(z)
                r = 1.0 / (1.0 + e)
                new = z - ((kn + kd) * np.log1p(e) - kd * z + const) / (kn * e * r - kd * r)
                new = np.stack([np.clip(new[0], lo, bottom), np.clip(new[1], bottom, hi)])
                done = np.abs(new - z) <= tol * np.maximum(1.0, np.abs(z))
                z = np.where(np.isfinite(new) & moving, new, z)
                moving &= ~done & np.isfinite(new)
                if not moving.any():
                    break
        return z[0], z[1]


def _inverse_map(log_e, log_base, r):
    """log X, h' = d log X / d log X' and d log h' / d log X' at log X' for the inverse Muennighoff map over the
    base U (X = D with R*_D, or N with R*_N): X = U (1 - r ln(1 - (X'/U - 1) / r)) above U, X = X' below."""
    ratio = np.exp(log_e - log_base)  # X' / U
    above = ratio > 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.clip((ratio - 1.0) / r, 0.0, 1.0)
        log_free = np.log1p(-frac)  # log(1 - frac): -inf at the saturation
        s = 1.0 - r * log_free  # X / U
        log_x = np.where(above, log_base + np.log(s), log_e)
        hp = np.where(above, ratio / (s * (1.0 - frac)), 1.0)
        dlog_hp = np.where(above, 1.0 - hp + ratio / (r * (1.0 - frac)), 0.0)
        log_hp = np.where(above, log_e - log_base - np.log(s) - log_free, 0.0)
    return log_x, hp, dlog_hp, log_hp


def _forward_map(log_x, log_base, r):
    """log X' of log X: the Muennighoff map (eq. 5 or 6), X' = X up to the base."""
    log_x = np.asarray(log_x, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        excess = np.exp(log_x - log_base) - 1.0
        return np.where(excess <= 0, log_x, log_base + np.log1p(r * -np.expm1(-np.maximum(excess, 0.0) / r)))


class RepeatedCurve(PlainCurve):
    """``a N'(N)^-p + b D'(D)^-q = 1`` with U unique tokens per element (Muennighoff et al. 2023); N' = N
    unless `base_params` (U_N, the parameter half) is given."""

    repeated = True

    def __init__(self, a, p, b, q, unique, base_params=None):
        super().__init__(a, p, b, q)
        self.u = np.asarray(unique, dtype=float)
        self.lu = np.log(self.u)
        self.base = None if base_params is None else np.asarray(base_params, dtype=float)
        shape = np.broadcast(self.lo, self.lu, *(() if self.base is None else (self.base,))).shape
        # the saturation D' = U (1 + R) is the data end of the curve: zeta_sat (D -> infinity)
        with np.errstate(invalid="ignore"):
            sat = self._zeta_of_log_effective(self.lu + np.log(SATURATION))
            # with the parameter half, N' = U_N (1 + R*_N) is the other end (N -> infinity)
            top = (np.full(shape, ZETA_MAX) if self.base is None else
                   np.minimum(PlainCurve.zeta_of_log_params(self, np.log(self.base * PARAMS_SATURATION)), ZETA_MAX))
        self.reachable = np.broadcast_to(np.isfinite(sat) & (sat < top), shape).copy()
        self.lo = np.broadcast_to(np.maximum(sat, ZETA_MIN), shape).copy()
        self.hi = np.broadcast_to(top, shape).copy()

    def start(self):
        z = np.broadcast_to(-self.log_qp, self.shape)
        # beyond a saturation (or too close to it) start between it and the other end of the domain
        with np.errstate(invalid="ignore"):  # an unreachable element has no domain (lo = NaN): any start
            step = np.minimum(1.0, 0.5 * (self.hi - self.lo))
            z = np.where(z > self.lo + 1.0, z, self.lo + step)
            return np.where(z < self.hi - 1.0, z, self.hi - step)

    def take(self, idx, shape):
        values = (self.a, self.p, self.b, self.q, self.u, *(() if self.base is None else (self.base,)))
        flat = [np.broadcast_to(v, shape).ravel()[idx] for v in values]
        return RepeatedCurve(*flat)

    def part(self, shape, start: int, stop: int):
        values = (self.a, self.p, self.b, self.q, self.u, *(() if self.base is None else (self.base,)))
        return RepeatedCurve(*(part(v, shape, start, stop) for v in values))

    def _real(self, log_e):
        """log D, h' = d log D / d log D' and d log h' / d log D' at log D' (h = the inverse Muennighoff map)."""
        return _inverse_map(log_e, self.lu, R_D)

    def _real_params(self, log_e):
        """As `_real` for the parameters (N' = N, h' = 1 without the parameter half)."""
        if self.base is None:
            zero = np.zeros_like(log_e)
            return log_e, zero + 1.0, zero, zero
        return _inverse_map(log_e, np.log(self.base), R_N)

    def logs(self, zeta):
        sp, _, _ = _softplus_and_shares(zeta)
        return self._real_params((self.la + sp) / self.p)[0], self._real((self.lb + sp - zeta) / self.q)[0]

    def slopes(self, zeta):
        sp, w, r = _softplus_and_shares(zeta)
        log_n, hp_n, dlog_hp_n, log_hp_n = self._real_params((self.la + sp) / self.p)
        log_d, hp, dlog_hp, log_hp = self._real((self.lb + sp - zeta) / self.q)
        de, ne = -r / self.q, w / self.p  # d log D' / d zeta, d log N' / d zeta
        # log(dn / -dd) - zeta = log(q/p) + log h_N' - log h_D'; its zeta-slope is
        # (d log h_N'/d log N') (d log N'/d zeta) - (d log h_D'/d log D') (d log D'/d zeta) >= 0 (both maps convex)
        return (log_n, log_d, hp_n * ne, hp * de, self.log_qp + log_hp_n - log_hp,
                dlog_hp_n * ne - dlog_hp * de)

    def zeta_of_log_params(self, log_n):
        """zeta where log N = log_n: N <= L  <=>  N' <= N'(L), through the parameter map when it applies."""
        if self.base is None:
            return super().zeta_of_log_params(log_n)
        return super().zeta_of_log_params(_forward_map(log_n, np.log(self.base), R_N))

    def zeta_of_log_tokens(self, log_d):
        """zeta where log D = log_d: D <= L  <=>  D' <= D'(L), a closed form through the Muennighoff map."""
        return self._zeta_of_log_effective(_forward_map(log_d, self.lu, R_D))

    # the generic safeguarded Newton of tco.solve.exact: m is log-like at the saturation
    product_roots = None  # type: ignore[assignment]

    def balance(self, n_exp, d_exp):
        """Root of n_exp dn = d_exp (-dd): zeta + log(dn / -dd) - zeta + log(n_exp / d_exp) = 0, whose left side
        increases with slope >= 1 (h convex): safeguarded Newton from the plain curve's closed form."""
        shift = np.log(n_exp / d_exp)

        def f(z):
            log_ratio, dlog_ratio = self.slopes(z)[4:]
            return z + log_ratio + shift, 1.0 + dlog_ratio

        lo, hi = self.lo, self.hi
        with np.errstate(invalid="ignore"):  # an unreachable element has an empty domain (lo = inf)
            start = np.clip(-self.log_qp - shift + np.zeros(self.shape), lo + 1e-3 * (hi - lo), hi)
        return safeguarded_root(f, lo, hi, start, log_like=True)
