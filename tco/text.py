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
           "one_line", "closest_name", "CLOSE_NAME_DISTANCE"]

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


#: A "did you mean" hint needs the names within this share of edits (edit distance over the longer name's
#: length): 1 edit in 3 characters. difflib's default ratio suggested 'years' for 'peak_rps' (0.62), because
#: its matching blocks reward scattered shared letters; an edit distance does not.
CLOSE_NAME_DISTANCE = 1 / 3


def _edits(a: str, b: str) -> int:
    """Edit distance with adjacent transpositions ('lwa' -> 'law' is one edit): optimal string alignment."""
    rows = [list(range(len(b) + 1))]
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            best = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                best = min(best, rows[-2][j - 2] + 1)
            row.append(best)
        rows.append(row)
    return rows[-1][-1]


def _abbreviates(word: str, name: str) -> bool:
    """'peak_rps' abbreviates 'peak_requests_per_second': each part of `word` is a prefix of the next part of
    `name` or the initials of the next few; every part of `name` is used."""
    parts, wanted = name.lower().split("_"), [p for p in word.lower().split("_") if p]

    def match(i: int, j: int) -> bool:
        if i == len(wanted):
            return j == len(parts)
        piece = wanted[i]
        if j < len(parts) and parts[j].startswith(piece) and match(i + 1, j + 1):
            return True
        k = j + len(piece)
        return len(piece) > 1 and k <= len(parts) and "".join(p[0] for p in parts[j:k]) == piece and match(i + 1, k)

    return bool(wanted) and match(0, 0)


def closest_name(word: str, names) -> str | None:
    """The one name `word` was probably meant to be, for a "did you mean" hint: the same name in other case, an
    abbreviation by prefixes or initials ('peak_rps'), else the nearest within CLOSE_NAME_DISTANCE edits per
    character ('prce_usd' for 'price_usd'). A unique prefix of four or more letters counts ('discount' for
    'discount_rate'). None when nothing is close: a wrong hint is worse than none."""
    names = [str(n) for n in names]
    lowered = word.lower()
    for name in names:
        if name.lower() == lowered:
            return name
    shorthand = [name for name in names if _abbreviates(word, name)
                 or (len(word) >= 4 and name.lower().startswith(lowered))]
    if len(shorthand) == 1:
        return shorthand[0]
    scored = sorted((_edits(lowered, name.lower()) / max(len(word), len(name), 1), name) for name in names)
    return scored[0][1] if scored and scored[0][0] <= CLOSE_NAME_DISTANCE else None
