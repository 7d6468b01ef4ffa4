"""Columns for a terminal: widths counted as a terminal draws them, where CJK letters take two cells."""

import unicodedata


def cells(text):
    """How many terminal cells `text` takes."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1 for c in text)


def fit(text, width):
    """`text` cut (with "…") or padded to exactly `width` cells."""
    text = " ".join(text.split())
    if cells(text) <= width:
        return text + " " * (width - cells(text))
    kept, used = [], 0
    for char in text:
        if used + cells(char) > width - 1:
            break
        kept.append(char)
        used += cells(char)
    return "".join(kept) + "…" + " " * (width - 1 - used)
