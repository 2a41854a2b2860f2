"""One tree of errors. Every error a user can cause is a `TcoError`; the CLI prints its one-line `str()`
and exits with status 2. Anything else escaping the API is a bug in tco, not in the scenario."""

from __future__ import annotations

__all__ = [
    "TcoError",
    "ScenarioError",
    "FieldError",
    "InfeasibleError",
    "SolverError",
    "UnknownNameError",
    "OutputError",
]


class TcoError(Exception):
    """Base class of every error tco raises on purpose."""


class FieldError(TcoError, ValueError):
    """A value in a scenario is wrong. `path` is the field path, e.g. ("target", "loss").

    Raised from inside validators; the loader adds the file name. Subclassing ValueError lets pydantic
    collect it like any other validation failure when raised from a field validator.
    """

    def __init__(self, path: tuple[str | int, ...] | str, message: str):
        self.path = tuple(path.split(".")) if isinstance(path, str) else tuple(path)
        self.message = message
        super().__init__(f"{'.'.join(str(p) for p in self.path)}: {message}")


class ScenarioError(TcoError):
    """A scenario (file or dict) cannot be used. Message: `FILE: field.path: what is wrong`.

    A file with several bad fields gives one such line per problem: `path` and `message` are the first's, `also`
    holds the others as (path, message) pairs, and `str()` joins the lines with newlines (the CLI prints each)."""

    def __init__(self, message: str, *, source: str | None = None, path: tuple[str | int, ...] = (),
                 also: tuple[tuple[tuple[str | int, ...], str], ...] = ()):
        self.source = source
        self.path = tuple(path)
        self.message = message
        self.also = tuple((tuple(p), m) for p, m in also)
        super().__init__("\n".join(self._line(p, m) for p, m in ((self.path, message), *self.also)))

    def lines(self) -> list[str]:
        """One `FILE: field.path: what is wrong` line per problem (what the CLI prints, each marked error:)."""
        return [self._line(p, m) for p, m in self.problems]

    @property
    def problems(self) -> tuple[tuple[tuple[str | int, ...], str], ...]:
        """Every problem as (field path, message), the first one first."""
        return ((self.path, self.message), *self.also)

    def _line(self, path: tuple[str | int, ...], message: str) -> str:
        parts = [p for p in (self.source, ".".join(str(p) for p in path)) if p]
        return ": ".join([*parts, message])


class UnknownNameError(TcoError, ValueError):
    """A preset law or catalog device that does not exist. The message lists the valid names."""


class InfeasibleError(TcoError):
    """No design meets the loss target under the constraints. `constraints` names the conflicting ones."""

    def __init__(self, message: str, constraints: tuple[str, ...] = ()):
        self.constraints = tuple(constraints)
        super().__init__(message)


class SolverError(TcoError):
    """The convex solver failed or disagreed with the independent solve beyond tolerance."""


class OutputError(TcoError, OSError):
    """An output file (a report, a table, a law file, a plot) or stdout cannot be written.

    `filename` is the path as given (never the temporary file) and `strerror` the reason, e.g. "No space left
    on device" or "is a directory, not a file"; `errno` is the OS error number when the OS gave one. It is an
    OSError too, so callers that catch OSError around a write keep working.
    """

    def __init__(self, path: object, reason: str, errno: int | None = None):
        super().__init__(errno, reason, str(path))
        self.path = str(path)
        self.reason = reason

    def __str__(self) -> str:
        return f"cannot write {self.path}: {self.reason}"

    def __reduce__(self):  # OSError pickles by its args; keep ours
        return (type(self), (self.path, self.reason, self.errno))
