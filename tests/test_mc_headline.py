"""Monte Carlo leads with the median and P10/P90, flags heavy tails (mean above P90) and names their drivers."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

import tco
from tco.studies.montecarlo import monte_carlo

ROOT = Path(__file__).resolve().parents[1]
UNCERTAIN = ROOT / "scenarios" / "uncertain-demand-and-law.yaml"
HEADLINE = ("optimal_params", "optimal_tokens", "optimal_total_cost_usd", "savings_total_cost_usd", "savings_fraction")


@pytest.fixture(scope="module")
def runs():
    scenario = tco.load_scenario(UNCERTAIN)
    return (monte_carlo(scenario, samples=20_000, seed=1, keep_draws=True, progress=False),
            monte_carlo(scenario, samples=40_000, seed=2, keep_draws=True, progress=False))


def test_quantiles_are_stable_across_seeds_and_sample_counts(runs):
    """The tolerance, distribution-free: a sample q-quantile of n draws sits at probability level q within
    sqrt(q (1 - q) / n) (one standard deviation of the order statistic's level), so run A's quantile must lie
    between run B's empirical quantiles at q -+ delta, delta = 4 sqrt(q (1 - q)) (1/sqrt(n_A) + 1/sqrt(n_B)):
    four standard deviations of both runs' noise. No assumption on the tail, which is why the mean gets none."""
    a, b = runs
    stats_a = {s.output: s for s in a.headline}
    for output in HEADLINE:
        values_b = b.draws[output].to_numpy()
        values_b = values_b[np.isfinite(values_b)]
        for q, value in ((0.5, stats_a[output].median), (0.1, stats_a[output].p10), (0.9, stats_a[output].p90)):
            delta = 4 * math.sqrt(q * (1 - q)) * (1 / math.sqrt(a.samples) + 1 / math.sqrt(b.samples))
            low, high = np.quantile(values_b, [q - delta, q + delta])
            assert low <= value <= high, (output, q, value, low, high)
        # and the band is narrow: the two medians agree to a few percent of the P10..P90 spread
        spread = stats_a[output].p90 - stats_a[output].p10
        median_b = {s.output: s for s in b.headline}[output].median
        assert abs(stats_a[output].median - median_b) < 0.05 * spread, output


def test_heavy_tails_are_flagged_where_the_mean_exceeds_the_p90(runs):
    for result in runs:
        for stats in result.headline:
            values = result.draws[stats.output].to_numpy()
            values = values[np.isfinite(values)]
            assert stats.median == pytest.approx(np.median(values), rel=1e-12)
            assert stats.heavy_tail == (values.mean() > np.quantile(values, 0.9))
        heavy = [s.output for s in result.headline if s.heavy_tail]
        assert "optimal_total_cost_usd" in heavy  # this scenario's cost: mean ~$42M against a P90 of ~$12M
        for output in heavy:
            (warning,) = [w for w in result.warnings if w.startswith(f"{output} is heavy-tailed")]
            assert "drifts with the sample count" in warning


def test_drivers_are_spearman_rank_correlations_with_the_sampled_inputs(runs):
    result = runs[0]
    cost = next(s for s in result.headline if s.output == "optimal_total_cost_usd")
    sampled = {"demand.requests", "training.price_usd_per_hour", "serving.decode_mfu", "law.E", "law.A", "law.B",
               "law.alpha", "law.beta"}
    assert {d.input for d in cost.drivers} == sampled
    assert set(result.inputs.columns) == sampled
    frame = result.inputs.assign(optimal_total_cost_usd=result.draws["optimal_total_cost_usd"]).dropna()
    expected = frame.corr(method="spearman")["optimal_total_cost_usd"].drop("optimal_total_cost_usd")
    for driver in cost.drivers:
        assert driver.rank_correlation == pytest.approx(expected[driver.input], abs=1e-12)
    ranked = [abs(d.rank_correlation) for d in cost.drivers]
    assert ranked == sorted(ranked, reverse=True)
    (warning,) = [w for w in result.warnings if w.startswith("optimal_total_cost_usd is heavy-tailed")]
    top = cost.drivers[0]
    assert f"{top.input} ({top.rank_correlation:+.2f})" in warning


def test_json_and_terminal_lead_with_the_median(tco_run):
    code, out, _ = tco_run("montecarlo", UNCERTAIN, "--no-report", "--json", "--samples", "5000")
    assert code == 0
    data = json.loads(out)
    assert list(data).index("headline") < list(data).index("summary")
    cost = data["headline"]["optimal_total_cost_usd"]
    assert list(cost)[:4] == ["median", "p10", "p90", "mean"] and cost["heavy_tail"] is (cost["mean"] > cost["p90"])
    code, out, _ = tco_run("montecarlo", UNCERTAIN, "--no-report", "--samples", "5000")
    header = next(line for line in out.splitlines() if "median" in line)
    columns = [c.strip() for c in header.strip("┃ ").split("┃")]
    assert columns[:6] == ["output", "median", "P10", "P90", "mean", "tail"]
    assert "compute-optimal design" in out and "chinchilla" not in out.lower().split("warning")[0]
