"""Reading the files a user names (scenarios, law files, `tco fit` CSVs): regular files only, with a size limit.

A scenario argument or `law:` path can be anything the file system holds: `/dev/zero` would be read until memory
runs out, a FIFO would block forever, `/dev/tty` would wait for typing. So the file is stat'ed before it is
opened (a device is never opened), opened without blocking, checked again on the open descriptor (it may have been
swapped in between), and read up to `limit + 1` bytes at most. Every refusal is an `InputFileError` whose message
says what the path is and why it is not read; the caller adds the file name.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any

from .errors import TcoError

__all__ = ["InputFileError", "read_regular_file", "read_text_table", "describe_size", "file_kind"]


class InputFileError(TcoError, ValueError):
    """A named input is not a readable regular file within the size limit. The message omits the path."""


def describe_size(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size:,} bytes"


def file_kind(mode: int) -> str | None:
    """What a non-regular file is, in words (None for a regular file): for inputs here and outputs
    (`tco.atomic.check_output_path`) alike."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _refuse_kind(kind: str, what: str) -> InputFileError:
    return InputFileError(f"is {kind}, not a {what}; only regular files are read")


def _os_error(exc: OSError) -> InputFileError:
    if exc.errno == errno.ENOENT:
        return InputFileError("file not found")
    if exc.errno == errno.ELOOP:
        return InputFileError("symbolic link loop (the link points back to itself); cannot be read")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return InputFileError("permission denied")
    return InputFileError(f"cannot read file: {exc.strerror or exc}")


def read_regular_file(path: str | Path, *, limit: int, what: str = "file") -> bytes:
    """The bytes of `path` if it is a regular file of at most `limit` bytes; else InputFileError.

    `what` names the expected file in messages ("scenario file", "CSV file").
    """
    try:
        info = os.stat(path)  # follows symlinks; a loop is ELOOP
    except OSError as exc:
        raise _os_error(exc) from None
    except ValueError as exc:  # an embedded NUL byte in the path
        raise InputFileError(f"not a usable file name ({exc})") from None
    kind = file_kind(info.st_mode)
    if kind is not None:
        raise _refuse_kind(kind, what)
    if info.st_size > limit:
        raise _too_big(info.st_size, limit, what)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise _os_error(exc) from None
    with os.fdopen(fd, "rb") as handle:
        kind = file_kind(os.fstat(fd).st_mode)  # swapped for a FIFO or device since the stat: still refused
        if kind is not None:
            raise _refuse_kind(kind, what)
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise _os_error(exc) from None
    if len(data) > limit:  # grew since the stat
        raise _too_big(len(data), limit, what)
    return data


def _too_big(size: int, limit: int, what: str) -> InputFileError:
    shown = f"more than {describe_size(limit)}" if size == limit + 1 else describe_size(size)
    return InputFileError(f"is {shown}; a {what} may be at most {describe_size(limit)}")


def read_text_table(raw: bytes, *, max_rows: int, comment: str | None = None) -> Any:
    """A CSV's rows as a pandas DataFrame of text, at most `max_rows + 1` of them (one past the limit tells "too
    many" from "exactly the limit" without reading them all); InputFileError("not a readable CSV file (...)")
    when pandas cannot parse it. Everything stays text so the callers' checks report the exact cell a user typed,
    not pandas' coercion of it."""
    import io

    import pandas as pd

    try:
        return pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False, skipinitialspace=True,
                           comment=comment, nrows=max_rows + 1)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputFileError(f"not a readable CSV file ({first})") from None
