from django import template
from django.utils import timezone

from scraping.models import SiteState

register = template.Library()


@register.simple_tag
def site_pause():
    """The site-wide pause in force (after a 429 or a block), or None."""
    return SiteState.active_pause(timezone.now())
