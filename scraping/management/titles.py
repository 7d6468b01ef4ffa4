"""How every command names a title: the forms `addtitle` takes (its URL, its id, or `source:id`)."""

from django.core.management.base import CommandError

from scraping.models import Title
from scraping.sources import parse_reference
from scraping.sources.errors import InvalidTitleReference


def reference(text):
    """The TitleRef `text` names; CommandError saying what is accepted otherwise."""
    try:
        return parse_reference(text)
    except InvalidTitleReference as error:
        raise CommandError(str(error)) from None


def tracked_title(text):
    """The tracked title `text` names; CommandError when it names none."""
    ref = reference(text)
    title = Title.objects.select_related("schedule").filter(source=ref.source, source_id=ref.source_id).first()
    if title is None:
        raise CommandError(f"{ref} is not tracked; add it with `manage.py addtitle {ref}`")
    return title
