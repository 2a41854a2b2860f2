"""Break-even and implied demand: when over-training pays, and what demand a published recipe implies.

Cost-optimality of a design (N, D) at its own loss: minimizing ``k_t N D + k_i N`` on the iso-loss curve
``a N^-p + b D^-q = 1`` (shares r = a N^-p, w = b D^-q) gives, from the two stationarity conditions
``k_t D + k_i = lambda p r / N`` and ``k_t N = lambda q w / D``,

    k_i / k_t = D (1/rho - 1),    rho = q w / (p r)

which for the Chinchilla form is the primer's ``alpha A D^(beta+1) / (beta B N^alpha) - D``. With FLOPs pricing
(k_t = 6 c_train, k_i = 2 T c_inf) the lifetime inference tokens are ``T = 3 (k_i/k_t) / cost_ratio``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..laws import LossConstraint
from ..units import format_count

if TYPE_CHECKING:
    from ..laws import Law
    from ..scenario import Scenario

__all__ = [
    "ImpliedDemand",
    "implied_demand",
    "Recipe",
    "RECIPES",
    "Milestone",
    "Breakeven",
    "breakeven",
    "DEMAND_RANGE",
    "SAVINGS_TARGETS",
    "TOKENS_PER_PARAM_TARGETS",
    "SHIFT_TOLERANCE",
]

#: Lifetime inference tokens searched by `breakeven` (log-spaced bisection).
DEMAND_RANGE = (1.0, 1e22)
SAVINGS_TARGETS = (0.01, 0.05, 0.10)
TOKENS_PER_PARAM_TARGETS = (100.0, 200.0, 500.0, 1000.0)
#: Training "beyond the Chinchilla point" means D > D_chin (1 + SHIFT_TOLERANCE).
SHIFT_TOLERANCE = 1e-6
#: A design within this factor of the Chinchilla tokens at its loss is called about compute-optimal.
_NEAR_OPTIMAL = 1.05
_POINTS_PER_ROUND = 32  # candidate demands per target per round: each round narrows the bracket 31-fold
_LOG_WIDTH = 1e-12  # stop when every bracket is this narrow in log10(demand)


# --- implied demand of a published design ----------------------------------------------------------------
@dataclass(frozen=True)
class ImpliedDemand:
    """Lifetime inference for which (params, tokens) is the cost-optimal design at its own loss."""

    law: str
    params: float | np.ndarray
    tokens: float | np.ndarray
    tokens_per_param: float | np.ndarray
    loss: float | np.ndarray
    chinchilla_params: float | np.ndarray  # the compute-optimal design at the same loss
    chinchilla_tokens: float | np.ndarray
    tokens_factor: float | np.ndarray  # D / D_chin: > 1 over-trained, < 1 under-trained
    inference_to_training: float | np.ndarray  # k_i / k_t in tokens (negative: under-trained)
    cost_ratio: float
    inference_tokens: float | np.ndarray  # implied lifetime inference tokens T (negative: under-trained)
    verdict: str | np.ndarray

    def to_dict(self) -> dict:
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in asdict(self).items()}


def implied_demand(law: "Law", params, tokens, cost_ratio: float = 1.0) -> ImpliedDemand:
    """The lifetime inference tokens that make (params, tokens) cost-optimal at its own loss (numpy-aware).

    cost_ratio = (inference $ per FLOP) / (training $ per FLOP); 1 prices both phases by FLOPs alone.
    A law-only closed form, so in the 6 N D / 2 N convention (a scenario's `attention_flops: false`): attention
    FLOPs depend on an architecture and a context the law does not know.

    Example:  implied_demand(tco.get_law("hoffmann2022"), 8e9, 15e12).inference_tokens  (Llama 3 8B's recipe)
    """
    n, d = np.asarray(params, dtype=float), np.asarray(tokens, dtype=float)
    if not (np.all(n > 0) and np.all(d > 0) and np.all(np.isfinite(n)) and np.all(np.isfinite(d))):
        raise ValueError("params and tokens must be positive finite numbers")
    if not (math.isfinite(cost_ratio) and cost_ratio > 0):
        raise ValueError(f"cost_ratio must be a positive number, got {cost_ratio!r}")
    r0, w0 = law.a0 * n**-law.p, law.b0 * d**-law.q  # the shares r, w times rhs: rho needs only their ratio
    rhs = r0 + w0  # the posynomial equals rhs(loss) at the design's own loss
    ratio = d * (law.p * r0 / (law.q * w0) - 1.0)  # k_i / k_t = D (1/rho - 1)
    # the Chinchilla point on the design's own iso-loss curve a0 N^-p + b0 D^-q = rhs
    chin_n, chin_d = LossConstraint(law.a0 / rhs, law.p, law.b0 / rhs, law.q, math.nan).chinchilla_point()
    demand = 3.0 * ratio / cost_ratio
    factor = d / chin_d
    verdict = np.vectorize(_verdict, otypes=[object])(factor, demand)
    scalar = np.ndim(demand) == 0

    def out(x):
        return float(x) if scalar else x

    return ImpliedDemand(
        law=law.name, params=out(n), tokens=out(d), tokens_per_param=out(d / n), loss=out(law.loss(n, d)),
        chinchilla_params=out(chin_n), chinchilla_tokens=out(chin_d), tokens_factor=out(factor),
        inference_to_training=out(ratio), cost_ratio=float(cost_ratio), inference_tokens=out(demand),
        verdict=str(verdict) if scalar else verdict.astype(str),
    )


def _verdict(factor: float, demand: float) -> str:
    where = f"{factor:.2f}x the compute-optimal D at its loss"
    if 1 / _NEAR_OPTIMAL <= factor <= _NEAR_OPTIMAL:
        return f"about compute-optimal ({where})"
    if factor < 1:
        return f"under-trained ({where}): never cost-optimal; a smaller model trained longer is cheaper"
    return f"over-trained ({where}): cost-optimal at ~{format_count(demand)} inference tokens"


@dataclass(frozen=True)
class Recipe:
    name: str
    params: float
    tokens: float
    source: str


RECIPES: tuple[Recipe, ...] = (
    Recipe("GPT-3 175B", 175e9, 300e9, "Brown et al. 2020, Language Models are Few-Shot Learners"),
    Recipe("Chinchilla 70B", 70e9, 1.4e12, "Hoffmann et al. 2022, Training Compute-Optimal Large Language Models"),
    Recipe("Llama 2 7B", 7e9, 2e12, "Touvron et al. 2023, Llama 2: Open Foundation and Fine-Tuned Chat Models"),
    Recipe("Llama 2 70B", 70e9, 2e12, "Touvron et al. 2023, Llama 2: Open Foundation and Fine-Tuned Chat Models"),
    Recipe("Llama 3 8B", 8e9, 15e12, "Meta 2024, Introducing Meta Llama 3 (15T+ tokens)"),
    Recipe("Llama 3 70B", 70e9, 15e12, "Meta 2024, Introducing Meta Llama 3 (15T+ tokens)"),
)


# --- break-even demand of a scenario ---------------------------------------------------------------------
@dataclass(frozen=True)
class Milestone:
    """A target (savings fraction, tokens per parameter, or D/D_chin - 1) and the smallest demand reaching it,
    with the optimum re-solved there (None everywhere when no demand up to 1e22 tokens reaches it)."""

    target: float
    inference_tokens: float | None
    requests: float | None
    params: float | None = None
    tokens: float | None = None
    tokens_per_param: float | None = None
    savings_fraction: float | None = None
    tokens_factor: float | None = None  # D / D_chin
    # "reached"; "never" (not up to 1e22 tokens); "not reported" (a savings milestone against a baseline the caps
    # rule out, whose savings do not measure over-training: the note says which cap)
    status: str = "reached"


@dataclass(frozen=True)
class Breakeven:
    """What `breakeven` found: the demand above which training beyond the compute-optimal point pays, and the
    demands reaching each savings and tokens-per-parameter milestone."""

    scenario: str
    objective: str
    law: str
    target_loss: float
    chinchilla_params: float
    chinchilla_tokens: float
    threshold_tokens: float | None  # demand above which training beyond the Chinchilla point pays
    threshold_requests: float | None
    shift: Milestone  # where the optimal D passes D_chin (1 + SHIFT_TOLERANCE)
    savings: tuple[Milestone, ...]
    tokens_per_param: tuple[Milestone, ...]
    note: str
    uses_requests: bool  # requests are reported (lifetime requests; present-value requests with a horizon)
    demand_basis: str = "lifetime inference tokens"  # what the demands are (present values with a horizon)

    def to_dict(self) -> dict:
        return asdict(self)

    def _repr_html_(self) -> str:
        """Jupyter's rich view: the threshold demand and every milestone's smallest demand and design."""
        from ..results.html import paragraph_html, table_html

        def amount(value: float | None) -> str:
            return "not reached" if value is None else format_count(value)

        rows = [(f"savings {m.target:.0%}", amount(m.inference_tokens), amount(m.params),
                 "" if m.tokens_per_param is None else f"{m.tokens_per_param:,.0f}") for m in self.savings]
        rows += [(f"{m.target:,.0f} tokens/param", amount(m.inference_tokens), amount(m.params),
                  "" if m.tokens_per_param is None else f"{m.tokens_per_param:,.0f}") for m in self.tokens_per_param]
        return ('<div class="tco-breakeven">'
                + paragraph_html("Over-training pays above:", f"{amount(self.threshold_tokens)} {self.demand_basis}")
                + table_html(("milestone", self.demand_basis, "optimal N", "tokens/param"), rows,
                             caption=f"{self.scenario}: break-even demands")
                + paragraph_html("note:", self.note) + "</div>")


def breakeven(scenario: "Scenario", tokens_per_param=TOKENS_PER_PARAM_TARGETS,
              savings=SAVINGS_TARGETS) -> Breakeven:
    """Demands at which over-training starts to pay, saves 1/5/10%, and reaches given tokens per parameter.

    All demands are lifetime inference tokens with the scenario's prompt:generated mix, set as
    `tco.studies.arrays.demand_overrides` sets them (via `demand_sweep`): with a demand horizon they are present values
    at training time, as the scenario's own demand is priced. Requests are reported when the scenario counts
    requests (present-value requests with a horizon). Every reported demand is re-solved to confirm its target.

    Example:  b = breakeven(scenario); b.threshold_tokens, [(m.target, m.inference_tokens) for m in b.savings]
    """
    from .arrays import refuse_quantization

    refuse_quantization(scenario, "tco breakeven")
    from ..model.build import build_model
    from .sweep import demand_sweep, horizon_words, inference_tokens_label

    d = scenario.demand
    per_request = (d.tokens_per_request
                   if d.requests is not None or d.requests_per_year is not None else None)
    per_request = per_request or None  # zero tokens per request: no request count to report
    column = "savings_fraction" if scenario.objective == "usd" else "savings_flops_fraction"
    law, loss = scenario.resolved_law, scenario.target_loss
    model = build_model(scenario)
    chin_n, chin_d = _chinchilla(model)

    def evaluate(demands):
        frame = demand_sweep(scenario, np.asarray(demands, dtype=float))
        return frame, {"tokens_factor": frame["tokens"].to_numpy() / chin_d,
                       "tokens_per_param": frame["tokens_per_param"].to_numpy(),
                       "savings": frame[column].to_numpy()}

    goals = [("tokens_factor", 1 + SHIFT_TOLERANCE, 0.0), *[("tokens_per_param", t, 0.0) for t in tokens_per_param]]
    shift_at, *tpp_at = _first_reaching(evaluate, goals)
    if shift_at is None:
        threshold = None
        note = ("the optimum never trains beyond the compute-optimal point (up to 1e22 inference tokens): "
                "the constraints stop it")
    elif shift_at == 0.0:
        threshold = 0.0
        note = ("threshold 0: the constraints already force training beyond the compute-optimal point with no "
                "inference")
    elif evaluate([shift_at / 100])[1]["tokens_factor"][0] > 1 + 1e-4 * SHIFT_TOLERANCE:
        threshold = 0.0  # the shift grows in proportion to demand from zero: it starts at any positive demand
        note = ("threshold 0: with no data cost and no binding cap, the compute-optimal point is optimal only with no "
                "inference at all; any positive demand makes a smaller model trained on more tokens cheaper "
                f"(the optimal D passes the compute-optimal D by {SHIFT_TOLERANCE:g} relative at "
                f"{format_count(shift_at)} tokens)")
    else:
        threshold = shift_at
        data_cost = scenario.data.cost_usd_per_token > 0 and scenario.objective == "usd"
        keeps = ("the data cost keeps" if data_cost else "the caps keep" if model.caps else
                 "attention FLOPs (which grow as N^(2/3) D, slower than 6 N D) keep")
        note = (f"training beyond the compute-optimal point pays above {format_count(shift_at)} lifetime inference "
                f"tokens; below it {keeps} the optimum at or short of its D")
    broken = [c.name for c in model.caps if c.relative_slack(chin_n, chin_d) < -1e-9]
    if broken:  # savings against a baseline the caps rule out are negative and not monotone in demand
        savings_at = [None] * len(savings)
        note += (f"; savings milestones are not reported: the compute-optimal baseline violates {', '.join(broken)}, "
                 "so savings against it do not measure over-training")
    else:
        savings_from = threshold if threshold else 0.0  # savings grow with demand beyond the break-even
        savings_at = _first_reaching(evaluate, [("savings", s, savings_from) for s in savings])
    found = [shift_at, *savings_at, *tpp_at]
    frame, metrics = evaluate([x if x is not None else 0.0 for x in found])

    checks = [("tokens_factor", 1 + SHIFT_TOLERANCE)] + [("savings", x) for x in savings] + [
        ("tokens_per_param", x) for x in tokens_per_param]
    off = [f"{name} {target:g}" for i, (name, target) in enumerate(checks)
           if found[i] not in (None, 0.0, DEMAND_RANGE[0]) and abs(metrics[name][i] / target - 1) > 1e-6]
    if off:  # the re-solve at a found demand must meet its target; say so if it does not
        note += f" (warning: the re-solve misses {', '.join(off)} by more than 1e-6 relative)"

    if d.requests_per_year is not None:
        note += ("; demands and requests are present values at training time, as the horizon's demand is priced "
                 f"({horizon_words(scenario)})")

    def milestone(i, target):
        if found[i] is None:
            unreported = broken and 1 <= i <= len(savings)
            return Milestone(target, None, None, status="not reported" if unreported else "never")
        row = frame.iloc[i]
        return Milestone(target, found[i], found[i] / per_request if per_request else None,
                         float(row["params"]), float(row["tokens"]), float(row["tokens_per_param"]),
                         float(metrics["savings"][i]), float(metrics["tokens_factor"][i]))

    return Breakeven(
        scenario=scenario.name, objective=scenario.objective, law=law.name, target_loss=loss,
        chinchilla_params=chin_n, chinchilla_tokens=chin_d,
        threshold_tokens=threshold,
        threshold_requests=(threshold / per_request if per_request and threshold is not None else None),
        shift=milestone(0, 1 + SHIFT_TOLERANCE),
        savings=tuple(milestone(1 + i, s) for i, s in enumerate(savings)),
        tokens_per_param=tuple(milestone(1 + len(savings) + i, t) for i, t in enumerate(tokens_per_param)),
        note=note, uses_requests=per_request is not None, demand_basis=inference_tokens_label(scenario),
    )


def _chinchilla(model) -> tuple[float, float]:
    """The compute-optimal design at the target (what sweeps compare against); with repeated data that cannot
    reach the target, the repetition solve's error with the unique-token numbers."""
    from ..errors import InfeasibleError
    from ..solve.regimes import chinchilla_point

    params, tokens = chinchilla_point(model)
    if not math.isfinite(params):
        from ..repeated import solve_repeated

        solve_repeated(model)  # raises with the unique-token numbers
        raise InfeasibleError("infeasible: the unique tokens cannot reach the loss target")  # pragma: no cover
    return params, tokens


def _first_reaching(evaluate, goals):
    """For each (metric, target, low): the smallest demand >= low where the metric, nondecreasing in demand
    from low on, reaches target (None if not by 1e22). Log-space multi-point bisection, all goals at once."""
    lows = np.array([g[2] for g in goals], dtype=float)
    targets = np.array([g[1] for g in goals], dtype=float)
    names = [g[0] for g in goals]

    def reached(demands):  # demands: (goals, points)
        _, m = evaluate(demands.ravel())
        values = np.stack([m[name].reshape(demands.shape)[g] for g, name in enumerate(names)])
        return values >= targets[:, None]

    floor = np.maximum(lows, DEMAND_RANGE[0])
    ends = reached(np.stack([lows, floor, np.full_like(lows, DEMAND_RANGE[1])], axis=1))
    lo, hi = np.log10(floor), np.full_like(lows, np.log10(DEMAND_RANGE[1]))
    open_ = ~ends[:, 1] & ends[:, 2]
    steps = np.linspace(0.0, 1.0, _POINTS_PER_ROUND + 1)[1:-1]
    while np.any(open_ & (hi - lo > _LOG_WIDTH)):
        grid = lo[:, None] + (hi - lo)[:, None] * steps
        hit = reached(10.0**grid) & open_[:, None]
        first = np.where(hit.any(axis=1), hit.argmax(axis=1), len(steps))
        rows = np.arange(len(goals))
        hi = np.where(first < len(steps), grid[rows, np.minimum(first, len(steps) - 1)], hi)
        lo = np.where(first > 0, grid[rows, np.maximum(first - 1, 0)], lo)
    answers = np.where(ends[:, 0], lows, np.where(ends[:, 1], floor, 10.0**hi))
    return [float(a) if ok else None for a, ok in zip(answers, ends[:, 2] | ends[:, 1] | ends[:, 0])]
