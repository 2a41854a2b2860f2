"""Keep BLAS single-threaded while fitting.

scipy's L-BFGS-B calls BLAS on 5-element vectors thousands of times per fit. With a multi-threaded OpenBLAS
every such call wakes the thread pool; on a busy 2-core machine that made a fit 10-15x slower (3.5 s with
OPENBLAS_NUM_THREADS=1 against 50 s without). `single_threaded_blas()` limits the BLAS libraries loaded in
this process to one thread for the duration and restores them after: with threadpoolctl when it is installed,
otherwise through OpenBLAS's own get/set functions (Linux: the libraries listed in /proc/self/maps).
Anywhere else it does nothing.
"""

from __future__ import annotations

import ctypes
import os
from contextlib import contextmanager

__all__ = ["single_threaded_blas"]

_PREFIXES = ("scipy_openblas", "openblas")
_SUFFIXES = ("64_", "_64_", "", "_")


def _loaded_openblas() -> list[str]:
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return []
    paths = {line.split(None, 5)[-1] for line in lines if len(line.split(None, 5)) == 6}
    return sorted(p for p in paths if "openblas" in os.path.basename(p).lower() and p.startswith("/"))


def _controls() -> list[tuple]:
    controls = []
    for path in _loaded_openblas():
        try:
            lib = ctypes.CDLL(path)  # already loaded: this only returns its handle
        except OSError:
            continue
        for name in (f"{p}_{{}}_num_threads{s}" for p in _PREFIXES for s in _SUFFIXES):
            get, put = getattr(lib, name.format("get"), None), getattr(lib, name.format("set"), None)
            if get is not None and put is not None:
                get.restype = ctypes.c_int
                controls.append((get, put))
                break
    return controls


@contextmanager
def single_threaded_blas():
    """Limit BLAS to one thread inside the block (scipy.optimize is imported first, so its BLAS is loaded)."""
    import scipy.optimize  # noqa: F401

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    if threadpool_limits is not None:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
        return
    saved = []
    for get, put in _controls():
        saved.append((put, get()))
        put(ctypes.c_int(1))
    try:
        yield
    finally:
        for put, threads in saved:
            put(ctypes.c_int(threads))
