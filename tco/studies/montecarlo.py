"""Monte Carlo over the distributions a scenario declares (inputs and law constants).

Each sample is re-optimized exactly (vectorized), so the result is the distribution of the *optimal* design
and its savings. A second question is answered too: the nominal over-trained design and the nominal
compute-optimal design (the "chinchilla" baseline) are fixed before the uncertainty resolves; how often is the
over-trained one cheaper at the sampled prices and demand?

The result leads with each output's median and P10/P90 (`tco.studies.tails`): a heavy tail (mean above P90) is
flagged with the sampled inputs that drive it, because its mean drifts with the sample count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..assemble import extrapolation_note
from ..errors import ScenarioError, TcoError
from ..scenario.law import is_law_path, load_law_file
from .arrays import evaluate, solve_frame, validate_overrides, vector_model, view
from .distributions import PUBLISHED_STDERR, Uncertainty, check_bootstrap, sample, sample_laws
from .engine import DEFAULT_CHUNK, chunk_ranges, run_chunks
from .limits import MAX_SAMPLES, check_count, check_projection, montecarlo_projection
from .tails import OutputStats, output_stats, tail_warning

if TYPE_CHECKING:
    import pandas as pd

    from ..scenario import Scenario

__all__ = ["monte_carlo", "MonteCarloResult", "OUTPUTS"]

#: Per-sample outputs kept (8 floats a sample).
OUTPUTS = ("optimal_params", "optimal_tokens", "optimal_tokens_per_param", "optimal_total_cost_usd",
           "savings_total_cost_usd", "savings_fraction", "nominal_design_cost_usd", "chinchilla_design_cost_usd")
_MEANINGFUL_SAVINGS = 0.01


@dataclass(frozen=True)
class MonteCarloResult:
    """What `monte_carlo` found: the summary (mean and quantiles of each output over the samples), the
    probabilities, how many samples had no design, and the per-sample draws when kept (`keep_draws=True`).
    Shows as a table in a notebook (`_repr_html_`)."""

    samples: int
    seed: int
    summary: "pd.DataFrame"  # one row per output: mean and the requested quantiles
    probabilities: dict[str, float]
    unreachable: int  # samples whose loss target is at or below their sampled E
    infeasible: int  # samples whose caps leave no design
    warnings: tuple[str, ...] = ()
    draws: "pd.DataFrame | None" = field(default=None, repr=False)  # per-sample outputs, when kept
    #: the sampled inputs, one column per path ("demand.requests", "law.E"), aligned with draws, when kept
    inputs: "pd.DataFrame | None" = field(default=None, repr=False)
    #: what to read first: each output's median, P10/P90, heavy tail and drivers (OUTPUTS' order)
    headline: tuple[OutputStats, ...] = ()

    def _repr_html_(self) -> str:
        """Jupyter's rich view: the summary table (mean and quantiles per output), the probabilities, warnings."""
        from ..results.html import paragraph_html, table_html

        columns = [c for c in self.summary.columns if c != "output"]

        def cell(output: str, value: float) -> str:
            return f"{value:.1%}" if "fraction" in output else f"{value:,.4g}"

        rows = [(r["output"], *(cell(r["output"], r[c]) for c in columns))
                for r in self.summary.to_dict(orient="records")]
        parts = [table_html(("output", *(c.upper() if c.startswith("p") else c for c in columns)), rows,
                            caption=f"Monte Carlo: {self.samples:,} samples (seed {self.seed})")]
        parts += [paragraph_html(f"P({name.replace('_', ' ')}) =", f"{value:.1%}")
                  for name, value in self.probabilities.items()]
        parts += [paragraph_html("warning:", w, color="#a60") for w in self.warnings]
        return '<div class="tco-montecarlo">' + "".join(parts) + "</div>"

    def to_dict(self) -> dict:
        return {
            "samples": self.samples, "seed": self.seed, "unreachable": self.unreachable,
            "infeasible": self.infeasible, "probabilities": self.probabilities, "warnings": list(self.warnings),
            "headline": {s.output: s.to_dict() for s in self.headline},
            "summary": {row["output"]: {k: float(v) for k, v in row.items() if k != "output"}
                        for row in self.summary.to_dict(orient="records")},
        }


def _law_sampler(scenario: "Scenario", unc: Uncertainty):
    spec = unc.law
    if spec is None:
        return None, ()
    law = scenario.resolved_law
    if spec.bootstrap:
        if not (isinstance(scenario.law, str) and is_law_path(scenario.law)):
            raise ScenarioError("law: bootstrap needs a law file with bootstrap samples (from `tco fit`)",
                                source=scenario.source, path=("uncertainty", "law"))
        boot = load_law_file(scenario.law).bootstrap
        if not boot or not boot.get("samples"):
            raise ScenarioError(f"the law file {scenario.law} has no bootstrap samples", source=scenario.source,
                                path=("uncertainty", "law"))
        checked = check_bootstrap(boot, f"law file {scenario.law}")
        return (lambda n, rng: sample_laws(law, n, rng, bootstrap=checked)), ()
    if spec.published:
        if law.name not in PUBLISHED_STDERR:
            raise ScenarioError(f"no published standard errors for law {law.name} (known: "
                                f"{', '.join(PUBLISHED_STDERR)}); give law: {{normal: {{E: ..., alpha: ...}}}}",
                                source=scenario.source, path=("uncertainty", "law"))
        stderr = PUBLISHED_STDERR[law.name]
    else:
        stderr = spec.normal or {}
    note = ("law constants are sampled independently (published fits give no correlations), which overstates "
            "the spread; bootstrap samples from `tco fit` keep the correlations")
    return (lambda n, rng: sample_laws(law, n, rng, stderr=stderr)), (note,)


def monte_carlo(scenario: "Scenario", *, samples: int | None = None, seed: int | None = None,
                objective: str | None = None, keep_draws: bool = False, chunk: int = DEFAULT_CHUNK,
                engine: str = "local", scheduler: str | None = None, progress: bool = True,
                allow_large: bool = False) -> MonteCarloResult:
    """Sample the scenario's `uncertainty:` section, re-optimize every sample, summarize.

    `samples` and `seed` override the scenario's. A run whose projected memory or time exceeds
    `tco.studies.limits` is refused unless allow_large; more than MAX_SAMPLES samples always are.

    Example:  mc = monte_carlo(tco.load_scenario("scenarios/uncertain-demand-and-law.yaml"), samples=1000,
                               seed=1, progress=False); mc.summary, mc.probabilities"""
    from .arrays import refuse_quantization

    refuse_quantization(scenario, "tco montecarlo")
    import pandas as pd

    unc = scenario.uncertainty
    if unc is None or (not unc.inputs and unc.law is None):
        raise TcoError(f"{scenario.source or scenario.name}: uncertainty: the scenario declares no distributions; "
                       "add an `uncertainty:` section (see README, Monte Carlo)")
    n = (check_count("uncertainty.samples", unc.samples, maximum=MAX_SAMPLES) if samples is None
         else check_count("--samples", samples, maximum=MAX_SAMPLES))
    seed = (check_count("uncertainty.seed", unc.seed, minimum=0) if seed is None
            else check_count("--seed", seed, minimum=0))
    chunk = check_count("--chunk", chunk)
    check_projection(montecarlo_projection(f"{'uncertainty.samples' if samples is None else '--samples'} {n:,}",
                                           n, chunk), allow_large=allow_large)
    law_sampler, warnings = _law_sampler(scenario, unc)
    nominal = solve_frame(scenario, {}, objective=objective, validate=False).iloc[0]
    designs = {"nominal_design_cost_usd": (nominal["optimal_params"], nominal["optimal_tokens"]),
               "chinchilla_design_cost_usd": (nominal["chinchilla_params"], nominal["chinchilla_tokens"])}
    children = np.random.SeedSequence(seed).spawn(len(chunk_ranges(n, chunk)))

    def work(index: int, start: int, stop: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(children[index])
        overrides = sample(unc, stop - start, rng)
        if overrides:
            try:
                validate_overrides(scenario, overrides)
            except ScenarioError as exc:
                raise ScenarioError(f"a sampled value is invalid ({exc.message}); use a distribution that stays in "
                                    "range (lognormal for prices, a bounded range for MFUs)", source=exc.source,
                                    path=exc.path) from None
        if law_sampler is not None:
            overrides.update(law_sampler(stop - start, rng))
        the_view = view(scenario, overrides)
        reachable = np.broadcast_to(the_view.target_loss > the_view.resolved_law.min_loss, (stop - start,))
        kept = {k: np.asarray(v)[reachable] if np.ndim(v) else v for k, v in overrides.items()}
        out = {name: np.full(stop - start, np.nan) for name in OUTPUTS}
        if reachable.any():
            frame = solve_frame(scenario, kept, objective=objective, validate=False, allow_infeasible=True)
            for name in OUTPUTS[:6]:
                out[name][reachable] = frame[name].to_numpy()
        # Fixed designs at the sampled prices and demand (costs of a given N, D do not depend on the law).
        cost_view = view(scenario, {k: v for k, v in overrides.items() if not k.startswith("law.")})
        model = vector_model(scenario, {k: v for k, v in overrides.items() if not k.startswith("law.")}, objective)
        for name, (params, tokens) in designs.items():
            out[name] = np.broadcast_to(evaluate(cost_view, model, params, tokens)["total_cost_usd"],
                                        (stop - start,)).astype(float)
        out["reachable"] = reachable.astype(float)
        for path, values in overrides.items():  # the sampled inputs, for the tails' drivers
            out[path] = np.broadcast_to(np.asarray(values, dtype=float), (stop - start,)).copy()
        return out

    parts = list(run_chunks(work, n, chunk=chunk, engine=engine, scheduler=scheduler, progress=progress,
                            description="Monte Carlo"))
    draws = pd.DataFrame({k: np.concatenate([p[k] for p in parts]) for k in (*OUTPUTS, "reachable")})
    inputs = {k: np.concatenate([p[k] for p in parts]) for k in parts[0] if k not in draws}
    reachable = draws["reachable"].to_numpy() > 0
    solved = reachable & np.isfinite(draws["optimal_params"].to_numpy())
    quantiles = unc.quantiles
    rows = []
    for name in OUTPUTS:
        values = draws[name].to_numpy()
        values = values[np.isfinite(values)]
        row = {"output": name, "mean": float(values.mean()) if values.size else np.nan}
        row.update({f"p{round(q * 100):g}": float(np.quantile(values, q)) if values.size else np.nan
                    for q in quantiles})
        rows.append(row)
    savings = draws["savings_fraction"].to_numpy()[solved]
    probabilities = {
        "savings_at_least_1pct": float(np.mean(savings >= _MEANINGFUL_SAVINGS)) if savings.size else np.nan,
        "over_trained_design_cheaper_than_chinchilla_design": float(np.mean(
            draws["nominal_design_cost_usd"] < draws["chinchilla_design_cost_usd"])),
        "unreachable": float(np.mean(~reachable)),
    }
    headline = output_stats({name: draws[name].to_numpy() for name in OUTPUTS}, inputs)
    notes = [*warnings, *(w for w in map(tail_warning, headline) if w)]
    notes += [w for w in (extrapolation_note(draws["optimal_tokens_per_param"].to_numpy(), "samples' optima"),) if w]
    return MonteCarloResult(
        samples=n, seed=seed, summary=pd.DataFrame(rows), probabilities=probabilities,
        unreachable=int(np.count_nonzero(~reachable)), infeasible=int(np.count_nonzero(reachable & ~solved)),
        warnings=tuple(notes), draws=draws if keep_draws else None, headline=headline,
        inputs=pd.DataFrame(inputs) if keep_draws else None,
    )
