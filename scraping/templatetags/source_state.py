from django import template
from django.utils import timezone

from scraping.gate import keeper
from scraping.models import SourceState

register = template.Library()


@register.simple_tag
def source_pauses():
    """Each source's pause in force (after a 429 or a block): [SourcePaused], maybe empty."""
    now = timezone.now()
    return [paused for state in SourceState.all_sources().values() if (paused := keeper.stopped(state, now))]
