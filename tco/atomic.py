"""Atomic file writes: write to a temp file in the destination folder, then rename over the target.

A crash, an exception or a signal mid-write leaves the earlier file (if any) untouched and no half-written file
behind. Only a regular file (or a path that does not exist yet) is ever written: a directory, a device such as
/dev/null, a FIFO, a socket, a dangling symlink or a symlink loop is refused before anything is written (the
atomic rename would otherwise *replace* the device or FIFO with a regular file). A symlink to a regular file is
followed: the file it points to is replaced and the link is kept.

Every OSError on the way (a read-only folder, a name too long, a full disk, a folder path through a regular
file) becomes a `tco.errors.OutputError` naming the path as given and the reason; the CLI prints it as one line
and exits with status 2.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from .errors import OutputError
from .inputs import file_kind

__all__ = ["atomic_write", "check_output_path"]

#: Characters of the target's name kept in the temp file's name (the temp name must fit NAME_MAX even when the
#: target's name itself nearly does)
_TEMP_NAME_CHARS = 64

def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _error(path: str | Path, exc: OSError, tmp: Path | None = None) -> OutputError:
    """OutputError(path, reason) from an OSError, never naming the temp file."""
    if isinstance(exc, OutputError):
        return exc
    reason = exc.strerror or str(exc) or type(exc).__name__
    if tmp is not None:
        reason = reason.replace(str(tmp), str(path))
    return OutputError(path, reason, exc.errno)


def _not_a_folder(path: Path) -> Path | None:
    """The nearest existing ancestor of `path` when it is not a folder (so `path` cannot be created)."""
    for parent in path.parents:
        try:
            mode = os.stat(parent).st_mode
        except (FileNotFoundError, NotADirectoryError):  # missing, or below the culprit
            continue
        except OSError:
            return None  # let the write report it
        return None if stat.S_ISDIR(mode) else parent
    return None


def check_output_path(path: str | Path, inputs: Iterable[str | Path] = ()) -> Path:
    """The file a write to `path` replaces: `path` itself, or the regular file a symlink at `path` points to.

    Raises OutputError (naming `path` and the reason) when `path` exists and is not a regular file, or when it
    cannot be created: a component of its folder is a file, the name is too long, a symlink loops or dangles.
    Commands call it for every output before the (possibly long) computation, with the files they read as
    `inputs` (an output that is one of them, say `--out scenario.yaml`, would destroy it); atomic_write calls it
    again.
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode  # follows symlinks
    except FileNotFoundError:
        if os.path.lexists(path):
            raise OutputError(path, "is a symbolic link to a missing file") from None
        blocker = _not_a_folder(path)
        if blocker is not None:
            raise OutputError(path, f"{blocker} is not a folder") from None
        return path
    except NotADirectoryError:
        blocker = _not_a_folder(path)
        raise OutputError(path, f"{blocker} is not a folder" if blocker else "Not a directory") from None
    except OSError as exc:  # ELOOP, ENAMETOOLONG, EACCES, ...
        raise _error(path, exc) from None
    kind = file_kind(mode)
    if kind == "not a regular file":
        raise OutputError(path, "is not a regular file")
    if kind is not None:
        raise OutputError(path, f"is {kind}, not a {'file' if stat.S_ISDIR(mode) else 'regular file'}")
    for source in inputs:
        try:
            same = os.path.samefile(path, source)
        except OSError:
            continue
        if same:
            raise OutputError(path, f"is the input file {source}; pick another output path")
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _fsync(path: Path) -> None:
    """Push the temp file to disk before the rename (a full disk can surface only here)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call `write(tmp_path)`, then atomically move tmp_path to `path`; returns `path`.

    Creates the folder if missing. Any OSError (from the checks, the folder, the temp file, `write` itself, the
    flush to disk or the rename) is raised as OutputError naming `path`; the earlier file at `path` is untouched
    and the temp file removed, also on KeyboardInterrupt or any other exception.
    """
    path = Path(path)
    target = check_output_path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:_TEMP_NAME_CHARS]}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise _error(path, exc) from None
    tmp_path = Path(tmp)
    try:
        os.close(fd)
        try:
            write(tmp_path)
            _fsync(tmp_path)
            os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; a report should get normal permissions
            os.replace(tmp_path, target)  # atomic on POSIX and Windows when on the same filesystem
        except OutputError:
            raise
        except OSError as exc:
            raise _error(path, exc, tmp_path) from exc
    except BaseException:
        try:
            tmp_path.unlink(missing_ok=True)
        except OSError:
            pass
        raise
    return path
