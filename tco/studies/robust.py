"""Robust design: the cheapest (N, D) that meets the loss target under a chosen share of sampled laws.

M sampled laws (published or given standard errors, or a law file's bootstrap rows) each add a loss constraint
``a_m N^-p_m + b_m D^-q_m <= 1`` to the scenario's geometric program (objective and caps unchanged). Exponents
differ per sample, so the GP is written in its convex log form, scaled to the nominal Chinchilla point like
`tco.solve.program` (x = log N/N0, y = log D/D0; one vectorized constraint, so compiling is cheap):

    minimize log sum_k w_k e^(i_k x + j_k y)   s.t.  e^(u_m - p_m x) + e^(v_m - q_m y) <= 1,  caps linear in x, y

Quantiles below 1 use "sampling and discarding" (Campi & Garatti 2011): drop the binding sample with the largest
dual and re-solve until floor((1 - quantile) M) samples are gone (unreachable samples, target <= E, count first).
100,000 fresh laws then measure the coverage achieved by the robust design and by the nominal optimum.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import numpy as np

from ..assemble import extrapolation_note
from ..errors import InfeasibleError, ScenarioError, SolverError, TcoError
from ..model.repetition import R_D, SATURATION, effective_tokens, real_tokens
from ..results import DesignPoint
from .distributions import check_bootstrap
from .limits import check_count, check_projection, robust_projection

if TYPE_CHECKING:
    from ..scenario import Scenario

__all__ = ["RobustResult", "robust_design", "law_sample_source", "VALIDATION_SAMPLES"]

VALIDATION_SAMPLES = 100_000
#: Repeated data: at most this many cutting-plane rounds per solve, stopping once the real data needed for the
#: effective data found exceeds the data chosen by at most this much (in log D).
_MAX_CUTS = 80
#: (form, use the SCS fallback): the four equivalent forms with Clarabel, then the first two with SCS
_ATTEMPTS = ((0, False), (1, False), (2, False), (3, False), (0, True), (1, True))
_CUT_TOLERANCE = 1e-12


@dataclass(frozen=True)
class RobustResult:
    """What `robust_design` found: the robust design next to the nominal optimum, its premium, and the coverage
    of fresh sampled laws under which each design reaches the target."""

    scenario: str
    objective: str
    law: str
    target_loss: float
    quantile: float
    samples: int
    seed: int
    sample_source: str
    robust: DesignPoint
    nominal: DesignPoint
    premium: float  # robust / nominal - 1 in the objective's measure ($ or FLOPs)
    cost_premium: float  # the same in $
    coverage: float  # share of fresh sampled laws under which the robust design reaches the target
    nominal_coverage: float
    validation_samples: int
    drop_budget: int  # floor((1 - quantile) samples): unreachable samples + dropped ones
    dropped: int
    unreachable: int
    kept: int
    status: str  # the convex solver's status at the last solve
    solves: int
    solve_seconds: float
    warnings: tuple[str, ...] = ()
    #: the sampled constants {"law.E": array, ...} (all M), and which samples were kept / unreachable
    law_samples: dict = field(default_factory=dict, repr=False)
    kept_mask: np.ndarray | None = field(default=None, repr=False)
    unreachable_mask: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.repr}
        return {**out, "robust": self.robust.to_dict(), "nominal": self.nominal.to_dict(),
                "warnings": list(self.warnings)}

    def _repr_html_(self) -> str:
        """Jupyter's rich view: the robust design next to the nominal optimum, premium and coverage, warnings."""
        from ..results.html import designs_table_html, paragraph_html

        parts = [designs_table_html((("Robust", self.robust), ("Nominal optimum", self.nominal)),
                                    caption=f"Robust design: target met under {self.quantile:.0%} of {self.samples:,} "
                                            f"sampled laws ({self.sample_source})"),
                 paragraph_html("Premium:", f"{self.premium:+.2%} ({self.cost_premium:+.2%} in $)"),
                 paragraph_html("Coverage of fresh laws:", f"robust {self.coverage:.1%}, nominal "
                                                           f"{self.nominal_coverage:.1%}")]
        parts += [paragraph_html("warning:", w, color="#a60") for w in self.warnings]
        return '<div class="tco-robust">' + "".join(parts) + "</div>"


def law_sample_source(scenario: "Scenario", stderr: dict | None = None, bootstrap: dict | None = None):
    """(stderr, bootstrap, description, independent): where the law samples come from, defaults applied."""
    from ..scenario.law import is_law_path, load_law_file
    from .distributions import PUBLISHED_STDERR

    law = scenario.resolved_law
    if stderr is not None and bootstrap is not None:
        raise TcoError("give standard errors or bootstrap samples, not both")
    if bootstrap is not None:
        return None, check_bootstrap(bootstrap, "bootstrap"), "bootstrap samples", False
    if stderr is not None:  # independent sampling overstates the spread only where two or more constants vary
        errs = _check_stderr(law, stderr)
        return errs, None, "standard errors given", sum(v > 0 for v in errs.values()) > 1
    if isinstance(scenario.law, str) and is_law_path(scenario.law):  # validated with the scenario: it loads
        boot = load_law_file(scenario.law).bootstrap
        if isinstance(boot, dict) and boot.get("samples"):  # `tco fit` may write the summary without the rows
            return None, check_bootstrap(boot, scenario.law), f"bootstrap samples of {scenario.law}", False
    if law.name in PUBLISHED_STDERR:
        return dict(PUBLISHED_STDERR[law.name]), None, f"published standard errors of {law.name}", True
    raise ScenarioError(
        f"law {law.name} has no published standard errors; give them with --stderr (e.g. "
        "E=0.03,A=124.58,B=1293.23,alpha=0.02,beta=0.02) or use a law file with bootstrap samples (tco fit)",
        source=scenario.source, path=("law",))


def _check_stderr(law, stderr: dict) -> dict[str, float]:
    constants = law.constants()
    for name, value in stderr.items():
        if name not in constants:
            raise TcoError(f"--stderr: law {law.name} has no constant {name!r} (it has {', '.join(constants)})")
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
            raise TcoError(f"--stderr: {name} must be a standard error >= 0, got {value!r}")
    if not stderr:
        raise TcoError("--stderr: give at least one standard error, e.g. E=0.03")
    return {k: float(v) for k, v in stderr.items()}


class _RobustGP:
    """The scaled program with one loss constraint per sampled law; `solve(kept)` compiles it and solves."""

    def __init__(self, model, law, draws: dict, n: int):
        from .distributions import replace_law

        self.sampled = replace_law(law, draws)
        full = lambda v: np.broadcast_to(np.asarray(v, dtype=float), (n,))  # noqa: E731
        a0, b0, p, q, floor = (full(getattr(self.sampled, k)) for k in ("a0", "b0", "p", "q", "min_loss"))
        with np.errstate(all="ignore"):  # a N^-p + b D^-q <= 1 with a = a0 / r(target); reachable when r > 0
            rhs = full(self.sampled._rhs(np.full(n, model.target_loss)))
            self.reachable = (model.target_loss > floor) & np.all(
                [(v > 0) & np.isfinite(v) for v in (rhs, a0, b0, p, q)], axis=0)
            self.log_a, self.p, self.log_b, self.q = np.log(a0 / rhs), p, np.log(b0 / rhs), q
        c, self.model, self.seconds = model.loss, model, 0.0
        self.n0, self.d0 = c.chinchilla_point()  # the scales: the nominal equal-loss Chinchilla point
        from ..solve.program import scaled_caps, scaled_objective

        objective = scaled_objective(model, self.n0, self.d0)
        self.log_w, self.term_i, self.term_j, self.roof = (objective.log_w, objective.term_i, objective.term_j,
                                                           objective.roofline)
        self.caps = scaled_caps(model, self.n0, self.d0)
        self.u, self.v = self.log_a - p * math.log(self.n0), self.log_b - q * math.log(self.d0)
        #: repeated data (Muennighoff et al. 2023): the loss rows see the effective data D' <= U (1 + R*_D)
        self.unique = None if model.unique_tokens is None else float(model.unique_tokens)
        self.cuts: list[tuple[float, float, float]] = []
        self.max_effective = None
        if self.unique is not None:
            saturation = math.log(self.unique * SATURATION)
            with np.errstate(all="ignore"):  # a sample that even saturated data cannot satisfy is unreachable
                self.reachable &= self.log_b - q * saturation < 0
            self.max_effective = saturation - math.log(self.d0) - 1e-9
            self.cuts = [self._cut(math.log(self.unique / self.d0) + k) for k in (0.0, 0.5, 1.0, 1.5, 2.0)]

    def effective(self, d):
        """The data the law sees: D, or D' of D tokens from the unique ones when data repeats."""
        return d if self.unique is None else effective_tokens(d, self.unique)

    def _real_log(self, e: float) -> float:
        """H(e): log(D / D0) of the real data that buys the effective data D0 e^e."""
        assert self.unique is not None
        return math.log(real_tokens(self.d0 * math.exp(e), self.unique) / self.d0)

    def _cut(self, e: float) -> tuple[float, float, float]:
        """The tangent of the convex H at e: (H(e), H'(e), e), with H' = (D'/D) dD/dD'."""
        assert self.unique is not None
        h = self._real_log(e)
        effective, real = self.d0 * math.exp(e), self.d0 * math.exp(h)
        frac = max(effective / self.unique - 1.0, 0.0) / R_D
        return h, (effective / real) / (1.0 - frac), e

    def g(self, n, d) -> np.ndarray:
        """Every sample's constraint value a N^-p + b D'^-q at (n, d) (D' = D unless data repeats): <= 1 meets
        that sample's target."""
        with np.errstate(all="ignore"):
            return (np.exp(self.log_a - self.p * math.log(n))
                    + np.exp(self.log_b - self.q * math.log(self.effective(d))))

    def polish(self, kept, n, d):
        """Where one sample binds, its exact 1-D solve (tco.solve) replaces the solver's ~1e-8 answer; where two
        bind (a vertex of two laws), Newton on the two loss equations in (log N, log D) puts the design on both."""
        from ..solve.regimes import solve_model

        binding = np.flatnonzero(kept & (self.g(n, d) > 1 - 1e-6))
        value = self.model.objective_value
        if binding.size == 2:
            vertex = self._vertex(binding, n, d)
            if vertex is None:
                return n, d, False
            n2, d2 = vertex
            ok = np.all(self.g(n2, d2)[kept] <= 1 + 1e-12) and value(n2, d2) <= value(n, d) * (1 + 1e-9)
            return (n2, d2, True) if ok else (n, d, False)
        if binding.size != 1:
            return n, d, False
        m = int(binding[0])
        loss = dataclasses.replace(self.model.loss, a=math.exp(self.log_a[m]), p=float(self.p[m]),
                                   b=math.exp(self.log_b[m]), q=float(self.q[m]))
        sol = solve_model(dataclasses.replace(self.model, loss=loss))
        n2, d2 = float(sol.params), float(sol.tokens)
        ok = bool(sol.feasible) and np.all(self.g(n2, d2)[kept] <= 1 + 1e-12)
        return (n2, d2, True) if ok and value(n2, d2) <= value(n, d) * (1 + 1e-9) else (n, d, False)

    def _vertex(self, pair, n, d, iterations: int = 50):
        """(N, D) where both sampled laws of `pair` meet the target exactly, by Newton from (n, d); None when
        it does not converge (the two curves do not cross near the solver's point)."""
        m = np.asarray(pair)
        z = np.array([math.log(n), math.log(self.effective(d))])  # in (log N, log D'): the laws see D'

        for _ in range(iterations):
            first, second = np.exp(self.log_a[m] - self.p[m] * z[0]), np.exp(self.log_b[m] - self.q[m] * z[1])
            residual = first + second - 1.0
            jacobian = np.column_stack([-self.p[m] * first, -self.q[m] * second])
            try:
                step = np.linalg.solve(jacobian, residual)
            except np.linalg.LinAlgError:
                return None
            z = z - step
            if np.max(np.abs(step)) < 1e-13 * max(1.0, float(np.max(np.abs(z)))):  # quadratic: done
                break
        else:
            return None
        if self.unique is None:
            return float(np.exp(z[0])), float(np.exp(z[1]))
        real = real_tokens(float(np.exp(z[1])), self.unique)
        return (float(np.exp(z[0])), float(real)) if math.isfinite(real) else None

    def solve(self, kept: np.ndarray):
        """(N, D, duals over all samples (0 where not kept), status), or None when infeasible."""
        import cvxpy as cp

        from ..solve.gp import build_log_program, solve_log_program

        idx, best = np.flatnonzero(kept), None
        # equivalent forms of one program: Clarabel can stall on one and not another; SCS (another algorithm)
        # last, for the programs Clarabel stalls on in every form
        for form, fallback in _ATTEMPTS:
            for _ in range(_MAX_CUTS):  # with repeated data: add tangent cuts until y lies on H (one pass without)
                program = build_log_program(
                    self.log_w, self.term_i, self.term_j,
                    loss_rows=(self.u[idx], self.p[idx], self.v[idx], self.q[idx]), caps=self.caps,
                    roofline=self.roof, sum_objective=form % 2 == 1, exp_loss=form < 2,
                    data_cuts=self.cuts if self.unique is not None else None, max_effective=self.max_effective)
                start = time.perf_counter()
                status = solve_log_program(program, fallback=fallback)
                self.seconds += time.perf_counter() - start
                e = program.effective.value if program.effective is not None else None
                chosen = program.y.value
                if e is None or chosen is None or status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
                    break
                if self._real_log(float(e)) - float(chosen) <= _CUT_TOLERANCE:
                    break
                self.cuts.append(self._cut(float(e)))
            if status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
                return None
            x, y, e = program.x.value, program.y.value, program.effective
            if status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) and x is not None and y is not None:
                # on H: the real data that buys the effective data found (never less than the cuts allowed)
                log_d = float(y) if e is None or e.value is None else self._real_log(float(e.value))
                n, d = self.n0 * math.exp(float(x)), self.d0 * math.exp(log_d)
                duals = np.zeros(kept.size)
                assert program.loss is not None  # one row per kept sample
                duals[idx] = np.atleast_1d(np.asarray(program.loss.dual_value, dtype=float))
                miss = float(np.max(self.g(n, d)[idx])) - 1.0
                best = min(best or (n, d, duals, status, np.inf), (n, d, duals, status, miss), key=lambda s: s[-1])
                if status == cp.OPTIMAL or miss <= 1e-10:
                    break
        if best is None:
            raise SolverError(f"the convex solver stopped with status {status!r} on {idx.size} sampled laws")
        return best[:4]


def robust_design(scenario: "Scenario", *, quantile: float = 0.9, samples: int = 200, seed: int = 0,
                  stderr: dict | None = None, bootstrap: dict | None = None,
                  progress: Callable[[int, int], None] | None = None,
                  allow_large: bool = False) -> RobustResult:
    """The cheapest design reaching the target under `quantile` of `samples` sampled laws (see module doc).

    A run whose projected time or memory exceeds `tco.studies.limits` is refused unless allow_large.

    `stderr` ({"E": 0.03, ...}; default: the law's published SEs) or `bootstrap` ({columns, samples}; default:
    the scenario's law file's). `progress(done, most)` is called after every solve.

    Example:  r = robust_design(scenario, quantile=0.9, samples=50); r.robust.params, r.premium, r.coverage
    """
    from .arrays import refuse_quantization

    refuse_quantization(scenario, "tco robust")
    from ..model.build import build_model
    from ..pipeline import design_point, optimize
    from .distributions import replace_law, sample_laws

    if not 0 < quantile <= 1:
        raise TcoError(f"--quantile must be in (0, 1], got {quantile:g}")
    samples = check_count("--samples", samples)
    seed = check_count("--seed", seed, minimum=0)
    check_projection(robust_projection(f"--samples {samples:,} at --quantile {quantile:g}", samples, quantile),
                     allow_large=allow_large)
    from ..choice import require_one_architecture

    require_one_architecture(scenario, "tco robust")  # sampled laws are of one expert count's constants
    model = build_model(scenario)
    if model.base_params is not None:  # its cuts cover the data map only; U_N would move with every sampled law
        raise ScenarioError("tco robust models only the data half of the repeated-data law; set "
                            "data.excess_parameters: none to design for it", source=scenario.source,
                            path=("data", "excess_parameters"))
    stderr, bootstrap, source, independent = law_sample_source(scenario, stderr, bootstrap)
    law = scenario.resolved_law
    target, how = model.target_loss, dict(stderr=stderr, bootstrap=bootstrap)
    design_rng, check_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    try:
        draws = sample_laws(law, samples, design_rng, **how)
    except ValueError as exc:
        raise TcoError(str(exc)) from None
    gp = _RobustGP(model, law, draws, samples)
    reachable, sampled, unreachable = gp.reachable, gp.sampled, int(samples - gp.reachable.sum())
    budget = math.floor((1.0 - quantile) * samples + 1e-9)
    if unreachable > budget:
        raise InfeasibleError(
            f"{unreachable} of {samples} sampled laws put the loss target {target:g} at or below their "
            f"irreducible loss, so at most {1 - unreachable / samples:.1%} of them can be met; lower --quantile "
            f"below {quantile:g} or raise the target", ("target.loss",))
    nominal_result = optimize(scenario)
    current = (nominal_result.optimal.params, nominal_result.optimal.tokens)
    kept, drops_left, solves, solution = reachable.copy(), budget - unreachable, 0, None
    while True:
        solution = gp.solve(kept)
        solves += 1
        if progress is not None:
            progress(solves, budget - unreachable + 1)
        if solution is None:  # the caps rule out meeting every kept sample: drop the worst at the last design
            if drops_left == 0:
                raise InfeasibleError(
                    f"the constraints leave no design that reaches the loss target under {quantile:.0%} of the "
                    f"sampled laws; lower --quantile or relax the caps", tuple(c.name for c in model.caps))
            with np.errstate(all="ignore"):
                losses = sampled.loss(current[0], gp.effective(current[1]))
                worst = int(np.argmax(np.where(kept, np.nan_to_num(losses, nan=np.inf), -np.inf)))
        else:
            current = solution[:2]
            if drops_left == 0 or solution[2].max() <= 1e-9:  # no kept sample binds: dropping cannot help
                break
            worst = int(np.argmax(solution[2]))
        kept[worst] = False
        drops_left -= 1
    status, dropped = solution[3], budget - unreachable - drops_left
    robust_n, robust_d, polished = gp.polish(kept, *solution[:2])
    violation = 0.0 if polished else float(np.max(gp.g(robust_n, robust_d)[kept])) - 1.0

    check_law = replace_law(law, sample_laws(law, VALIDATION_SAMPLES, check_rng, **how))
    robust, nominal = design_point(scenario, model, robust_n, robust_d), nominal_result.optimal
    with np.errstate(all="ignore"):
        coverage, nominal_coverage = (
            float(np.mean(check_law.loss(x.params, gp.effective(x.tokens)) <= target * (1 + 1e-12)))
            for x in (robust, nominal))
    measure = "total_cost_usd" if model.objective == "usd" else "total_flops"
    notes = _notes(independent, unreachable, samples, dropped, budget - unreachable, quantile, coverage, violation)
    notes += [note for note in (extrapolation_note(robust.tokens_per_param, "the robust design"),) if note]
    return RobustResult(
        scenario=scenario.name, objective=model.objective, law=law.name, target_loss=target, quantile=quantile,
        samples=int(samples), seed=seed, sample_source=source, robust=robust, nominal=nominal,
        premium=getattr(robust, measure) / getattr(nominal, measure) - 1.0,
        cost_premium=robust.total_cost_usd / nominal.total_cost_usd - 1.0,
        coverage=coverage, nominal_coverage=nominal_coverage, validation_samples=VALIDATION_SAMPLES,
        drop_budget=budget, dropped=dropped, unreachable=unreachable, kept=int(kept.sum()), status=status,
        solves=solves, solve_seconds=gp.seconds, warnings=tuple(notes),
        law_samples=draws, kept_mask=kept, unreachable_mask=~reachable,
    )


def _notes(independent, unreachable, samples, dropped, allowed, quantile, coverage, violation) -> list[str]:
    notes = []
    if independent:
        notes.append("law constants were sampled independently (no correlations known): this overstates the "
                     "spread of the loss, so the robust design is likely more conservative than needed; bootstrap "
                     "samples from `tco fit` keep the correlations")
    if unreachable:
        notes.append(f"{unreachable} of {samples} sampled laws cannot reach the target at any size (their "
                     "irreducible loss is at or above it); they count as failures")
    if dropped < allowed:
        notes.append(f"stopped after dropping {dropped} of {allowed} samples: no remaining sample binds "
                     "(the caps set the design)")
    # fitted to M samples, a design covers ~1 - (dropped + 2)/(M + 1) +- sqrt(q (1 - q) / M) (Campi & Garatti)
    if coverage < quantile - 2 * math.sqrt(quantile * (1 - quantile) / samples) - 2 / (samples + 1) - 1e-3:
        notes.append(f"validated coverage {coverage:.1%} is below the {quantile:.1%} asked for (discarding tailors "
                     "the design to the samples drawn): use more --samples")
    if violation > 1e-9:
        notes.append(f"the solver's design misses a kept sample's target by {violation:.2g} (relative)")
    return notes
