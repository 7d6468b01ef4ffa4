"""Counts in words: "1 chapter", "2 chapters", never "chapter(s)"."""


def counted(number, singular, plural=None):
    return f"{number} {singular if number == 1 else plural or singular + 's'}"
