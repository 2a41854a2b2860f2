"""Chunked execution of large sweeps and Monte Carlo runs: locally, or on a Dask cluster.

Work is split into fixed chunks of elements; chunk k always covers the same elements and (for Monte Carlo)
draws from the k-th child of one SeedSequence, so results are identical whatever the engine, the number of
workers or the order in which chunks finish.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from ..errors import TcoError
from .limits import check_count

__all__ = ["chunk_ranges", "run_chunks", "DEFAULT_CHUNK", "CONNECT_TIMEOUT_SECONDS", "progress_bar"]

T = TypeVar("T")

#: How long to wait for a Dask scheduler given by address before giving up with its address.
CONNECT_TIMEOUT_SECONDS = 5.0

#: Elements per chunk: ~1M keeps each chunk's arrays around 100-200 MB.
DEFAULT_CHUNK = 1_000_000


def chunk_ranges(total: int, chunk: int = DEFAULT_CHUNK) -> list[tuple[int, int]]:
    chunk = check_count("chunk", chunk)
    return [(start, min(start + chunk, total)) for start in range(0, total, chunk)]


@contextmanager
def progress_bar(description: str, total: int, *, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr when it is a terminal and `enabled`; otherwise silent."""
    if not enabled or total <= 1 or not sys.stderr.isatty():
        yield lambda advance: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn, TimeRemainingColumn

    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda advance: bar.advance(task, advance)


def run_chunks(work: Callable[[int, int, int], T], total: int, *, chunk: int = DEFAULT_CHUNK,
               engine: str = "local", scheduler: str | None = None, progress: bool = True,
               description: str = "solving") -> Iterator[T]:
    """Yield work(index, start, stop) for every chunk, in chunk order.

    engine="local" runs in this process; engine="dask" submits chunks to a Dask cluster (`scheduler` address,
    or a LocalCluster when None) and still yields results in chunk order.
    """
    ranges = chunk_ranges(total, chunk)
    with progress_bar(description, len(ranges), enabled=progress) as advance:
        if engine == "local":
            for index, (start, stop) in enumerate(ranges):
                yield work(index, start, stop)
                advance(1)
            return
        if engine != "dask":
            raise ValueError(f"engine must be 'local' or 'dask', got {engine!r}")
        with _dask_client(scheduler) as client:
            futures = [client.submit(work, index, start, stop, pure=False) for index, (start, stop) in
                       enumerate(ranges)]
            for future in futures:
                yield future.result()
                advance(1)


@contextmanager
def _dask_client(scheduler: str | None):
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise TcoError("the dask engine needs the optional extra: pip install 'tco[dask]'") from None
    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_SECONDS)
        except (OSError, TimeoutError, ValueError) as exc:  # refused, unreachable, or not an address
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise TcoError(f"--scheduler {scheduler}: cannot reach the Dask scheduler within "
                           f"{CONNECT_TIMEOUT_SECONDS:g} s ({reason})") from None
        with client:
            yield client
    else:
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            yield client
