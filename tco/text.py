"""Text from users (scenario names, descriptions, sources, file names) that reaches a terminal, a workbook or a
file: the rules it must meet at load (`check_text`), and the one-line form it is copied in (`one_line`). Core:
no pydantic, no rich, no openpyxl.

Rejected at load: C0 control characters (U+0000-U+001F) except tab (and newline where the field allows it),
DEL (U+007F), C1 controls (U+0080-U+009F, e.g. NEL U+0085), the line and paragraph separators U+2028/U+2029
and the bidirectional embedding, override and isolate controls (U+202A-U+202E, U+2066-U+2069), which make text
display as something else than it is. Rich markup such as "[bold]" and text that looks like a formula ("=SUM(...)")
are allowed: they are printed and written literally.
"""

from __future__ import annotations

import re

__all__ = ["NAME_MAX_CHARS", "DESCRIPTION_MAX_CHARS", "SOURCE_MAX_CHARS", "PATH_MAX_CHARS", "check_text",
           "one_line"]

#: Longest name (scenario, law, device, dtype) in characters.
NAME_MAX_CHARS = 200
#: Longest scenario description in characters.
DESCRIPTION_MAX_CHARS = 10_000
#: Longest source or citation string (a law's or a device's `source`).
SOURCE_MAX_CHARS = 1_000
#: Longest path string inside a scenario (a law file).
PATH_MAX_CHARS = 4_096

_FORBIDDEN = "\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_FORBIDDEN_ONE_LINE = re.compile(f"[{_FORBIDDEN}\n]")
_FORBIDDEN_MULTILINE = re.compile(f"[{_FORBIDDEN}]")
_NAMES = {"\n": "a newline", "\r": "a carriage return", "\x1b": "an escape character", "\x00": "a NUL",
          "\x85": "a next-line character (NEL)", "\x7f": "a DEL", "\u2028": "a line separator",
          "\u2029": "a paragraph separator"}


def check_text(value: str, *, max_chars: int, newlines: bool = False) -> str:
    """`value` if it meets the text rules, else ValueError saying which character (and where) or how long."""
    found = (_FORBIDDEN_MULTILINE if newlines else _FORBIDDEN_ONE_LINE).search(value)
    if found:
        ch = found.group()
        what = _NAMES.get(ch, "a control character")
        allowed = "tab and newline" if newlines else "tab"
        raise ValueError(f"contains {what} (U+{ord(ch):04X}) at character {found.start() + 1}; text may not "
                         f"contain control characters other than {allowed}")
    if len(value) > max_chars:
        raise ValueError(f"is {len(value):,} characters long; at most {max_chars:,} are allowed")
    return value


def _visible(match: re.Match) -> str:
    ch = match.group()
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch) or (
        f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


_ONE_LINE = re.compile(f"[{_FORBIDDEN}\n\t]")


def one_line(value: object, max_chars: int | None = None) -> str:
    """`str(value)` on one line of printable text: control characters, newlines and tabs become visible escapes
    (``\\n``, ``\\x1b``); longer than `max_chars`, it is cut and ends in "…". For text copied into files and
    error lines (file names, provenance strings)."""
    text = _ONE_LINE.sub(_visible, str(value))
    if max_chars is not None and len(text) > max_chars:
        text = text[: max_chars - 1] + "…"
    return text
