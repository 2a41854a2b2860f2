"""The GP worker: a child process that imports cvxpy while the command reads its scenario, then solves its GP.

Importing cvxpy costs ~1.5 s, more than everything else `tco optimize` does. The command line therefore starts
this worker first thing (`prestart`, from `tco.cli.main`): the child imports cvxpy and `tco.solve.gp` on the
second core while the parent imports pydantic, reads the YAML, builds the Model and runs the exact kernel.
When the parent reaches the cross-check it sends the program's plain numbers (`tco.solve.program.gp_request`)
down a pipe and reads the answer back; the child runs the very code the parent would (`gp.solve_request`), so
the figures are the same to the bit (tests/test_gp_worker.py).

Nothing depends on the worker: with none running (the Python API, `TCO_GP_WORKER=0`, a platform that cannot
start one) or when it fails in any way, `solve` returns None and the caller solves in its own process, where a
real error meets the usual handling. The pipe carries pickles between this process and the child it started,
nothing else. A forked child of the parent (Dask, multiprocessing) never uses its parent's worker.
"""

from __future__ import annotations

import atexit
import os
import pickle
import subprocess
import sys
import threading
from typing import Any

__all__ = ["prestart", "solve", "stop", "running", "ENV_SWITCH"]

#: Set to 0 to solve every GP in the command's own process (debugging, profiling).
ENV_SWITCH = "TCO_GP_WORKER"

_lock = threading.Lock()
_state: dict[str, Any] = {"process": None, "owner": None}


def prestart() -> bool:
    """Start the worker; False (and no worker) when one runs already, it is switched off, cvxpy is imported
    here already (then solving in-process is quicker), or the platform refuses. Never raises."""
    with _lock:
        if _state["process"] is not None or os.environ.get(ENV_SWITCH, "1").strip() == "0":
            return False
        if "cvxpy" in sys.modules or not sys.executable:  # no need, or no command to start it with
            return False
        try:
            process = subprocess.Popen([sys.executable, "-m", "tco.solve.worker"], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        except (OSError, ValueError):
            return False
        _state["process"], _state["owner"] = process, os.getpid()
    atexit.register(stop)
    return True


def running() -> bool:
    """True when this process has a live worker of its own."""
    process = _state["process"]
    return process is not None and _state["owner"] == os.getpid() and process.poll() is None


def solve(shape: tuple, values: dict) -> dict | None:
    """The worker's answer for the program `shape` at `values` (`gp.solve_request`'s dict), or None when no
    worker of this process runs or it failed; a failed worker is stopped, so later solves run in-process."""
    with _lock:
        process = _state["process"]
        if process is None or _state["owner"] != os.getpid():
            return None
        try:
            pickle.dump((shape, values), process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            process.stdin.flush()
            reply = pickle.load(process.stdout)
        except Exception:  # a dead or confused worker: any failure means "solve it yourself"
            reply = None
    if not isinstance(reply, dict):
        stop()
        return None
    return reply


def stop() -> None:
    """Stop the worker, if any: it holds nothing but compiled programs, so it is killed, not waited for."""
    with _lock:
        process, owner = _state["process"], _state["owner"]
        _state["process"] = _state["owner"] = None
    if process is None or owner != os.getpid():
        return
    for stream in (process.stdin, process.stdout):
        try:
            stream.close()
        except OSError:
            pass
    if process.poll() is None:
        process.kill()
    process.wait()


def serve() -> None:
    """The child's loop: import the solver, then answer (shape, values) requests until the parent closes stdin."""
    replies = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # a solver's stray print must not corrupt the reply stream
    sys.stdout = open(os.devnull, "w")
    requests = sys.stdin.buffer
    from . import gp  # the ~1.5 s this process exists to spend early

    while True:
        try:
            shape, values = pickle.load(requests)
        except (EOFError, OSError, pickle.UnpicklingError):
            return
        try:
            reply: dict | None = gp.solve_request(shape, values)
        except Exception:  # the parent solves it again itself and meets the error there
            reply = None
        try:
            pickle.dump(reply, replies, protocol=pickle.HIGHEST_PROTOCOL)
            replies.flush()
        except OSError:  # the parent is gone
            return


if __name__ == "__main__":
    try:
        serve()
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group; the parent reports it
        pass
