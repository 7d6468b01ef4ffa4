from django import template
from django.utils import timezone

from scraping.models import SiteState

register = template.Library()


@register.simple_tag
def source_pauses():
    """Each source's pause in force (after a 429 or a block): [SitePaused], maybe empty."""
    now = timezone.now()
    return [paused for state in SiteState.all_sources().values() if (paused := state.stopped_at(now))]
