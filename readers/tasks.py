"""What the django-q2 cluster does for readers: fetch a title a shelf waits for, and search a source."""

import logging

from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import schedule

from readers import shelf
from scraping.checking.pipeline import import_title
from scraping.gate.keeper import SourcePaused
from scraping.models import Title
from scraping.sources import TitleRef
from scraping.sources.errors import SourceError

logger = logging.getLogger(__name__)


def fetch_for_shelf(title_id):
    """Fetch a title readers added (its details and whole chapter list, telling nobody); then their rows
    fill in. A source that asks us to wait gets the fetch again when it lets us."""
    title = Title.objects.filter(pk=title_id).first()
    if title is None:
        return f"title {title_id} is gone"
    if title.fetched:
        shelf.fetched(title)
        return f"title {title_id} was fetched already"
    try:
        imported = import_title(TitleRef(title.source, title.source_id))
    except SourcePaused as paused:
        schedule(
            "readers.tasks.fetch_for_shelf",
            title_id,
            name=f"fetch title {title_id} after a pause ({timezone.now():%H%M%S%f})",
            schedule_type=Schedule.ONCE,
            next_run=paused.until,
        )
        return f"title {title_id} waits: {paused}"
    except SourceError as error:
        shelf.fetched(title, error=error.message)
        return f"title {title_id} could not be fetched: {error.message}"
    shelf.fetched(imported.title)
    return f"fetched {imported.title.name} ({imported.chapters} chapters)"
