"""Fit a scaling law to your own training runs (`tco fit`).

    from tco.fit import read_runs, fit_runs, write_law_file
    runs = read_runs("runs.csv", params_col="Parameters", tokens_col="Tokens", loss_col="Smoothed Loss")
    result = fit_runs(runs, starts=4500, resamples=1000, seed=0)
    write_law_file(result, "laws/our-law.yaml")      # then `law: laws/our-law.yaml` in a scenario

Approach 3 (tco.fit.parametric), its bootstrap (tco.fit.bootstrap), Approach 2 (tco.fit.isoflop), outputs
(tco.fit.output: law file, JSON, Excel Fit sheet; tco.fit.plot: PNG). Only numpy is imported up front.
"""

from .bootstrap import BootstrapResult, bootstrap_fit
from .data import FitDataError, Runs, read_runs, runs_from_arrays
from .isoflop import IsoflopFit, fit_isoflop
from .output import json_document, law_document, write_fit_sheet, write_law_file, write_workbook
from .parametric import HUBER_DELTA, ParametricFit, fit_parametric, huber_objective, start_grid
from .pipeline import FitResult, fit_runs
from .plot import write_plot

__all__ = [
    "FitDataError",
    "Runs",
    "read_runs",
    "runs_from_arrays",
    "HUBER_DELTA",
    "ParametricFit",
    "fit_parametric",
    "huber_objective",
    "start_grid",
    "BootstrapResult",
    "bootstrap_fit",
    "IsoflopFit",
    "fit_isoflop",
    "FitResult",
    "fit_runs",
    "law_document",
    "json_document",
    "write_law_file",
    "write_fit_sheet",
    "write_workbook",
    "write_plot",
]
