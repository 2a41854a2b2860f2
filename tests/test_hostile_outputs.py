"""Hostile outputs: every output that cannot be written is one line on stderr naming the path and the reason,
exit status 2, nothing on stdout, and the earlier file at that path untouched; signals exit 130/143 with one
line and leave no temp file.

The tests run as root in CI, where a read-only folder does not stop a write: permission errors are simulated by
monkeypatching the OS call (os.replace, tempfile.mkstemp) or the writer to raise PermissionError in-process.
"""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from tco.atomic import atomic_write, check_output_path
from tco.errors import OutputError, TcoError

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "chat-assistant-70b-quality.yaml"
UNCERTAIN = ROOT / "scenarios" / "uncertain-demand-and-law.yaml"
EARLIER = b"the earlier report, which must survive"
FAST = ("--sweep", "1e9..1e16:2")  # a two-point workbook sweep: the solve is quick


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def files(folder: Path) -> dict[str, bytes | None]:
    """Every entry under `folder` (recursively) with its bytes (None for anything but a regular file)."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() and not p.is_symlink() else None)
            for p in sorted(folder.rglob("*"))}


def no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.rglob(".*.tmp")]


# --- each command's outputs -----------------------------------------------------------------------------------
def _runs_csv(path: Path) -> Path:
    params, tpp = np.meshgrid(np.logspace(7, 10, 6), np.logspace(np.log10(5), np.log10(500), 5))
    params, tokens = params.ravel(), params.ravel() * tpp.ravel()
    loss = 1.69 + 406.4 / params**0.34 + 410.7 / tokens**0.28
    path.write_text("params,tokens,loss\n" + "".join(f"{n:.17g},{d:.17g},{y:.17g}\n"
                                                     for n, d, y in zip(params, tokens, loss)))
    return path


def command(name: str, out: Path | str, tmp_path: Path) -> list:
    """`tco NAME ... --out OUT` (fast settings), writing only OUT."""
    if name == "optimize":
        return ["optimize", SCENARIO, "--out", out, "--json", *FAST]
    if name == "report":
        return ["report", SCENARIO, "--out", out, *FAST]
    if name == "sensitivity":
        return ["sensitivity", SCENARIO, "--out", out, "--json"]
    if name == "montecarlo":
        return ["montecarlo", UNCERTAIN, "--samples", "200", "--out", out, "--json"]
    if name == "sweep":
        return ["sweep", SCENARIO, "--vary", "demand.requests=1e9..1e10:2", "--out", out, "--no-report", "--json"]
    if name == "fit":
        return ["fit", _runs_csv(tmp_path / "runs.csv"), "--out", out, "--starts", "5", "--bootstrap", "0",
                "--json"]
    raise AssertionError(name)


SUFFIX = {"sweep": ".csv", "fit": ".yaml"}
COMMANDS = ["optimize", "report", "sensitivity", "montecarlo", "sweep", "fit"]


def _special(kind: str, tmp_path: Path, suffix: str) -> tuple[str, str]:
    """Make an output path of `kind` under tmp_path/place; (path, expected reason)."""
    place = tmp_path / "place"
    place.mkdir()
    if kind == "directory":
        (place / f"r{suffix}").mkdir()
        return str(place / f"r{suffix}"), "is a directory"
    if kind == "fifo":
        os.mkfifo(place / f"r{suffix}")
        return str(place / f"r{suffix}"), "named pipe"
    if kind == "device":
        return os.devnull, "is a character device"
    if kind == "socket":
        import socket

        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(place / f"r{suffix}"))
        sock.close()
        return str(place / f"r{suffix}"), "is a socket"
    if kind == "symlink loop":
        (place / f"r{suffix}").symlink_to(f"r{suffix}")
        return str(place / f"r{suffix}"), "Too many levels of symbolic links"
    if kind == "dangling symlink":
        (place / f"r{suffix}").symlink_to("missing")
        return str(place / f"r{suffix}"), "symbolic link to a missing file"
    if kind == "under a regular file":
        (place / "plain").write_bytes(EARLIER)
        return str(place / "plain" / f"r{suffix}"), "plain is not a folder"
    if kind == "deep under a regular file":
        (place / "plain").write_bytes(EARLIER)
        return str(place / "plain" / "a" / "b" / f"r{suffix}"), "plain is not a folder"
    if kind == "300-character name":
        return str(place / ("x" * 300 + suffix)), os.strerror(errno.ENAMETOOLONG)
    if kind == "empty name":
        return "", "is a directory"  # "" is the current folder
    raise AssertionError(kind)


KINDS = ["directory", "fifo", "device", "socket", "symlink loop", "dangling symlink", "under a regular file",
         "deep under a regular file", "300-character name", "empty name"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", COMMANDS)
def test_unwritable_output_is_one_line_and_exit_2(tco_run, tmp_path, monkeypatch, name, kind):
    monkeypatch.chdir(tmp_path)
    out, reason = _special(kind, tmp_path, SUFFIX.get(name, ".xlsx"))
    before = files(tmp_path)
    dev_before = os.stat(os.devnull)
    code, stdout, err = tco_run(*command(name, out, tmp_path))
    line = one_line(err)
    assert code == 2 and stdout == ""
    assert f"cannot write {out or '.'}: " in line and reason in line, line
    after = files(tmp_path)
    after.pop("runs.csv", None)
    before.pop("runs.csv", None)
    assert after == before  # nothing created, nothing replaced
    dev_after = os.stat(os.devnull)
    assert stat.S_ISCHR(dev_after.st_mode) and dev_after.st_ino == dev_before.st_ino  # /dev/null is still it


@pytest.mark.parametrize("how", ["same path", "a hard link", "a symlink"])
@pytest.mark.parametrize("name", ["optimize", "fit"])
def test_an_output_onto_the_input_file_is_refused(tco_run, tmp_path, name, how):
    if name == "optimize":
        source = tmp_path / "s.yaml"
        source.write_bytes(SCENARIO.read_bytes())
        args = lambda out: ["optimize", source, "--out", out, *FAST]  # noqa: E731
    else:
        source = _runs_csv(tmp_path / "runs.csv")
        args = lambda out: ["fit", source, "--out", out, "--starts", "5", "--bootstrap", "0"]  # noqa: E731
    out = source if how == "same path" else tmp_path / "other"
    if how == "a hard link":
        os.link(source, out)
    elif how == "a symlink":
        out.symlink_to(source)
    before = source.read_bytes()
    code, stdout, err = tco_run(*args(out))
    line = one_line(err)
    assert code == 2 and stdout == "" and f"cannot write {out}: is the input file {source}" in line, line
    assert source.read_bytes() == before and no_temp_files(tmp_path)


def test_the_api_refuses_special_files_too(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    for target in (tmp_path / "fifo", Path(os.devnull), tmp_path):
        with pytest.raises(OutputError) as info:
            atomic_write(target, lambda tmp: tmp.write_bytes(b"x"))
        assert isinstance(info.value, TcoError) and isinstance(info.value, OSError)
        assert info.value.filename == str(target)
    assert stat.S_ISFIFO(os.stat(tmp_path / "fifo").st_mode) and stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_a_symlink_to_a_regular_file_is_followed(tco_run, tmp_path):
    real = tmp_path / "real" / "r.xlsx"
    real.parent.mkdir()
    real.write_bytes(EARLIER)
    link = tmp_path / "latest.xlsx"
    link.symlink_to(real)
    code, stdout, err = tco_run(*command("optimize", link, tmp_path))
    assert code == 0, err
    assert link.is_symlink() and os.readlink(link) == str(real)  # the link is kept ...
    assert real.read_bytes()[:2] == b"PK"  # ... and the file it points to is the new workbook
    assert no_temp_files(tmp_path)
    assert check_output_path(link) == real


# --- failures while writing (simulated: CI runs as root, which no file mode stops) ------------------------------
def _fail_with(code: int):
    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    return fail


def _half_then(code: int):
    """A writer that writes half a file, then fails as a full disk does."""

    def write(self, target, *args, **kwargs):
        Path(target).write_bytes(b"half")
        raise OSError(code, os.strerror(code))

    return write


def _half_chunk(code: int):
    """CsvWriter.write that writes part of a chunk to its open file, then fails as a full disk does."""

    def write(self, frame, *args, **kwargs):
        self._file.write(b"half")
        raise OSError(code, os.strerror(code))

    return write


def _half_text(code: int):
    """Path.write_text that writes half the text, then fails."""

    def write_text(self, data, *args, **kwargs):
        with open(self, "w") as fh:
            fh.write(data[: len(data) // 2])
        raise OSError(code, os.strerror(code))

    return write_text


FAILURES = {
    # a read-only folder: the temp file cannot be created
    "read-only folder": ("tempfile.mkstemp", _fail_with(errno.EACCES), errno.EACCES),
    # the rename is refused (a read-only folder, an immutable file)
    "rename refused": ("os.replace", _fail_with(errno.EPERM), errno.EPERM),
    # the name fits the temp file but not the file system's limit at the rename
    "name too long": ("os.replace", _fail_with(errno.ENAMETOOLONG), errno.ENAMETOOLONG),
    # a full disk that only shows when the data is flushed
    "disk full at fsync": ("os.fsync", _fail_with(errno.ENOSPC), errno.ENOSPC),
    "I/O error at fsync": ("os.fsync", _fail_with(errno.EIO), errno.EIO),
}


@pytest.mark.parametrize("failure", list(FAILURES))
@pytest.mark.parametrize("name", ["optimize", "sweep", "fit"])
def test_a_failing_write_keeps_the_earlier_file(tco_run, tmp_path, monkeypatch, name, failure):
    out = tmp_path / f"r{SUFFIX.get(name, '.xlsx')}"
    out.write_bytes(EARLIER)
    args = command(name, out, tmp_path)
    target, replacement, code_ = FAILURES[failure]
    module, attribute = target.split(".")
    monkeypatch.setattr(__import__(module), attribute, replacement)
    code, stdout, err = tco_run(*args)
    line = one_line(err)
    assert code == 2 and stdout == ""
    assert f"cannot write {out}: {os.strerror(code_)}" in line, line
    assert ".tmp" not in line  # the path as given, never the temp file
    assert out.read_bytes() == EARLIER and no_temp_files(tmp_path)


WRITERS = {  # the library call each kind of output ends in, and a broken one
    "workbook": ("optimize", "openpyxl.workbook.workbook", "Workbook", "save", _half_then),
    "csv table": ("sweep", "tco.studies.tables", "CsvWriter", "write", _half_chunk),
    "law file": ("fit", "pathlib", "Path", "write_text", _half_text),
}


@pytest.mark.parametrize("code_", [errno.ENOSPC, errno.EACCES, errno.EDQUOT])
@pytest.mark.parametrize("writer", list(WRITERS))
def test_a_writer_failing_half_way_keeps_the_earlier_file(tco_run, tmp_path, monkeypatch, writer, code_):
    import importlib

    name, module, cls, method, broken = WRITERS[writer]
    out = tmp_path / f"r{SUFFIX.get(name, '.xlsx')}"
    out.write_bytes(EARLIER)
    args = command(name, out, tmp_path)  # (writes runs.csv for fit before the writer is broken)
    monkeypatch.setattr(getattr(importlib.import_module(module), cls), method, broken(code_))
    code, stdout, err = tco_run(*args)
    line = one_line(err)
    assert code == 2 and stdout == "", stdout
    assert line.endswith(f"cannot write {out}: {os.strerror(code_)}"), line
    assert out.read_bytes() == EARLIER and no_temp_files(tmp_path)


def test_plot_and_parquet_failures_are_one_line(tco_run, tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    plot = tmp_path / "fit.png"
    plot.write_bytes(EARLIER)
    monkeypatch.setattr(Figure, "savefig", _half_then(errno.ENOSPC))
    code, stdout, err = tco_run(*command("fit", tmp_path / "law.yaml", tmp_path), "--plot", plot)
    assert code == 2 and stdout == "" and f"cannot write {plot}: No space left on device" in one_line(err)
    assert plot.read_bytes() == EARLIER and no_temp_files(tmp_path)

    pq = pytest.importorskip("pyarrow.parquet")
    table = tmp_path / "t.parquet"
    table.write_bytes(EARLIER)
    monkeypatch.setattr(pq.ParquetWriter, "write_table", _fail_with(errno.ENOSPC))  # after the file is opened
    code, stdout, err = tco_run(*command("sweep", table, tmp_path))
    assert code == 2 and stdout == "" and f"cannot write {table}: No space left on device" in one_line(err)
    assert table.read_bytes() == EARLIER and no_temp_files(tmp_path)


def test_json_is_printed_only_after_the_report_is_written(tco_run, tmp_path, monkeypatch):
    """A script reading stdout must never see a result for a run that then failed."""
    from openpyxl.workbook.workbook import Workbook

    out = tmp_path / "r.xlsx"
    monkeypatch.setattr(Workbook, "save", _half_then(errno.ENOSPC))
    for extra in (["--json"], []):
        code, stdout, err = tco_run("optimize", SCENARIO, "--out", out, *FAST, *extra)
        assert code == 2 and stdout == "" and "No space left on device" in one_line(err)
    assert not out.exists()


def test_a_long_tmp_name_still_fits(tmp_path):
    """A target name close to NAME_MAX must not fail because the temp file's name is longer."""
    out = tmp_path / ("y" * 250 + ".xlsx")
    atomic_write(out, lambda tmp: tmp.write_bytes(b"ok"))
    assert out.read_bytes() == b"ok" and no_temp_files(tmp_path)


# --- stdout and the command line itself ---------------------------------------------------------------------
def _tco(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tco", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, **kwargs)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("args", [
    ["optimize", SCENARIO, "--json", "--no-report"],
    ["optimize", SCENARIO, "--no-report"],
    ["laws"],
])
def test_stdout_on_a_full_device_is_one_line(args):
    with open("/dev/full", "w") as full:
        run = subprocess.run([sys.executable, "-m", "tco", *map(str, args)], cwd=ROOT, stdout=full,
                             stderr=subprocess.PIPE, text=True, timeout=300)
    assert run.returncode == 2
    assert one_line(run.stderr) == "error: cannot write stdout: No space left on device"


def test_stdout_on_a_closed_pipe_is_one_line():
    read, write = os.pipe()
    os.close(read)  # as `tco laws | head -0` once head has exited
    try:
        run = subprocess.run([sys.executable, "-m", "tco", "laws"], cwd=ROOT, stdout=write,
                             stderr=subprocess.PIPE, text=True, timeout=300)
    finally:
        os.close(write)
    assert run.returncode == 2 and one_line(run.stderr) == "error: cannot write stdout: Broken pipe"


def test_no_arguments_prints_the_help_on_stderr_and_exits_2():
    run = _tco()
    assert run.returncode == 2 and run.stdout == ""
    assert "Usage:" in run.stderr and "optimize" in run.stderr and "error:" not in run.stderr


def test_ctrl_c_is_one_line_and_130(tco_run, monkeypatch):
    import tco

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(tco, "optimize", interrupted)
    code, stdout, err = tco_run("optimize", SCENARIO, "--no-report")
    assert code == 130 and stdout == "" and one_line(err) == "interrupted"


# --- the fault test: a signal in the middle of a report write -------------------------------------------------
SLOW_WRITE = textwrap.dedent("""
    import signal, sys, time
    from pathlib import Path
    from openpyxl.workbook.workbook import Workbook

    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if the test runner ignores SIGINT

    def slow_save(self, target):
        Path(target).write_bytes(b"half a workbook")
        time.sleep(120)  # the signal arrives here, mid-write

    Workbook.save = slow_save
    from tco.cli import main
    sys.argv = ["tco", *sys.argv[1:]]
    main()
""")


@pytest.mark.parametrize(("signum", "status", "message"), [
    (signal.SIGINT, 130, "interrupted"),
    (signal.SIGTERM, 143, "terminated"),
])
def test_a_signal_mid_write_keeps_the_earlier_report(tmp_path, signum, status, message):
    out = tmp_path / "r.xlsx"
    out.write_bytes(EARLIER)
    script = tmp_path / "slow.py"
    script.write_text(SLOW_WRITE)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(script), "optimize", str(SCENARIO), "--out", str(out), *FAST],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 240
        while not list(tmp_path.glob(".r.xlsx.*.tmp")):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the temp file never appeared"
            time.sleep(0.05)
        time.sleep(0.2)  # inside the slow writer
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == status, stderr
    assert one_line(stderr) == message and stdout == ""
    assert out.read_bytes() == EARLIER
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.xlsx", "slow.py"]  # no .r.xlsx.*.tmp left
