"""Scenario files: pydantic models (schema) and YAML loading (load)."""

from .load import load_scenario, read_yaml, scenario_from_dict
from .schema import Scenario

__all__ = ["Scenario", "load_scenario", "read_yaml", "scenario_from_dict"]
