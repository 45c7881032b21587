"""How deeply a JSON text nests, measured before it is parsed.

Python's ``json`` parser recurses once per level of ``[`` or ``{``: a file of 100,000
opening brackets ends in a ``RecursionError`` (and code walking the parsed document
recurses again).  A real FHIR resource nests a few dozen levels at most (a Bundle
entry, a resource, a component, a code, a coding, extensions within extensions), so a
document deeper than :data:`MAX_JSON_DEPTH` is refused before parsing, with the reason.

The depth is counted on the bytes with numpy, in blocks (bounded memory): brackets
inside strings are skipped by tracking the parity of unescaped quotes.
"""

from __future__ import annotations

import numpy as np

#: Deepest nesting accepted in a JSON document or NDJSON line.
MAX_JSON_DEPTH = 100

_BLOCK = 1 << 22  # bytes per block of the depth scan (a few times this in working memory)
_OPEN = (ord("{"), ord("["))
_CLOSE = (ord("}"), ord("]"))
_QUOTE = ord('"')


def nesting_depth(text: str | bytes, stop_above: int | None = None) -> int:
    """The deepest nesting of ``[``/``{`` outside strings (0 for a scalar).

    Stops early and returns a value above ``stop_above`` as soon as one is seen.
    Malformed JSON (unbalanced brackets, a cut-off file) gives the deepest level reached.
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    # an escaped backslash, then an escaped quote, can never open or close a string
    data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    arr = np.frombuffer(data, dtype=np.uint8)
    depth = best = 0
    inside = 0  # 1 when the previous block ended inside a string
    for start in range(0, len(arr), _BLOCK):
        block = arr[start : start + _BLOCK]
        quotes = np.cumsum(block == _QUOTE, dtype=np.int32) + inside
        outside = (quotes & 1) == 0
        opens = ((block == _OPEN[0]) | (block == _OPEN[1])) & outside
        closes = ((block == _CLOSE[0]) | (block == _CLOSE[1])) & outside
        steps = opens.astype(np.int32) - closes.astype(np.int32)
        level = np.cumsum(steps, dtype=np.int64) + depth
        best = max(best, int(level.max()))
        depth = int(level[-1])
        inside = int(quotes[-1]) & 1
        if stop_above is not None and best > stop_above:
            break
    return best


def too_deep(text: str | bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when ``text`` nests deeper than ``limit`` (checked without parsing it)."""
    opens = text.count("{") + text.count("[") if isinstance(text, str) else text.count(b"{") + text.count(b"[")
    if opens <= limit:
        return False  # cannot nest deeper than it has brackets
    return nesting_depth(text, stop_above=limit) > limit


__all__ = ["MAX_JSON_DEPTH", "nesting_depth", "too_deep"]
