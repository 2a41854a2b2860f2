"""Studies: many solves of one scenario, and the solves a report needs (`prepare`)."""

from .workbook import prepare

__all__ = ["prepare"]
