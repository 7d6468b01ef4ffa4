"""Covers: fetched once from the source's image host through its gate, kept small, served from here.

Sources refuse hotlinked images (MangaDex does), and a reader's browser should not tell them what it
reads. A check that sees a new cover URL queues `fetch_cover` after it commits, so a cover never
holds up a check; a cover that cannot be had leaves its title with the page's placeholder.
"""

import io
import logging
import warnings
from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from django_q.tasks import async_task
from PIL import Image, UnidentifiedImageError

from batoshelf.words import counted
from scraping import sources
from scraping.gate import keeper
from scraping.gate.keeper import SourcePaused
from scraping.models import Cover, Title
from scraping.sources.base import Request
from scraping.sources.errors import BadResponse, SourceError
from scraping.sources.http import raise_source_faults

logger = logging.getLogger(__name__)

WIDTH = 256
MAX_COVER_BYTES = 5 * 2**20
# A cover decoded to more pixels than this is no cover (a decompression bomb).
MAX_PIXELS = 25_000_000
RETRY_AFTER = timedelta(days=1)
# Only these decoders ever see a source's bytes.
IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
# A queued fetch of a cover is not queued again for this long.
QUEUED_FOR = 600


class CoverUnusable(BadResponse):
    """The source's answer is no image we can show."""


def thumbnail(content):
    """(JPEG bytes, width, height): `content` as an image WIDTH px wide at most; CoverUnusable if it is none."""
    if len(content) > MAX_COVER_BYTES:
        raise CoverUnusable(f"the cover is larger than {MAX_COVER_BYTES // 2**20} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(content), formats=IMAGE_FORMATS)
        with image:
            if image.width * image.height > MAX_PIXELS:
                raise CoverUnusable(f"the cover is {image.width}x{image.height} pixels, too many")
            image.draft("RGB", (WIDTH, WIDTH * 4))  # JPEG decodes at a smaller scale: faster, less memory
            image = image.convert("RGB")
            image.thumbnail((WIDTH, WIDTH * 4))
            out = io.BytesIO()
            image.save(out, "JPEG", quality=82, optimize=True)
            return out.getvalue(), image.width, image.height
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as error:
        raise CoverUnusable(f"the cover is not an image we can read ({type(error).__name__})") from None


def _read_image(answer):
    raise_source_faults(answer, "the source's image host")
    if answer.status != 200:
        raise CoverUnusable(f"the image host answered HTTP {answer.status}", status=answer.status)
    if not answer.headers.get("Content-Type", "").lower().startswith("image/"):
        raise CoverUnusable("the image host answered something that is not an image", status=answer.status)
    return answer.content


def kept_or_queue(source, url):
    """The key of the cover at `url` when batoshelf has it already (a search found it first); else
    "" and its fetch is queued for the background, once."""
    key = Cover.key_of(url)
    if Cover.objects.filter(key=key, fetched_at__isnull=False).exists():
        return key
    queue(source, url)
    return ""


def queue(source, url):
    """Fetch the cover at `url` in the background, once, unless batoshelf has it already."""
    if not url:
        return
    key = Cover.key_of(url)
    if cache.add(f"batoshelf:cover:{key}", 1, QUEUED_FOR):
        transaction.on_commit(lambda: async_task(fetch_cover, source, url, task_name=f"cover {key}", group="covers"))


def fetch_cover(source_name, url, now=None):
    """Fetch, shrink and keep one cover; point every title with this cover URL at it. Returns what happened."""
    now = now or timezone.now()
    key = Cover.key_of(url)
    known = Cover.objects.filter(key=key).only("fetched_at", "failed_at").first()
    if known and known.fetched_at:
        attached = Title.objects.filter(cover_url=url).exclude(cover_key=key).update(cover_key=key)
        return f"cover {key} kept already ({counted(attached, 'title')} now show it)"
    if known and known.failed_at and now - known.failed_at < RETRY_AFTER:
        return f"cover {key} failed at {known.failed_at:%Y-%m-%d %H:%M}; tried again a day on"
    target = sources.get(source_name).cover_fetch_url(url)
    try:
        if not target:
            raise CoverUnusable("the cover is not on the source's own image host")
        content = keeper.Requests(source_name)(Request("GET", "", url=target), _read_image)
        image, width, height = thumbnail(content)
    except SourcePaused as paused:
        cache.delete(f"batoshelf:cover:{key}")  # the next check that sees it queues it again
        return f"cover {key} not fetched: {paused}"
    except SourceError as error:
        Cover.objects.update_or_create(
            key=key, defaults={"source": source_name, "url": url[:1000], "failed_at": now, "error": error.message[:300]}
        )
        logger.info("cover %s of %s not kept: %s", key, source_name, error.message)
        return f"cover {key} not kept: {error.message}"
    with transaction.atomic():
        Cover.objects.update_or_create(
            key=key,
            defaults={
                "source": source_name,
                "url": url[:1000],
                "image": image,
                "width": width,
                "height": height,
                "fetched_at": now,
                "failed_at": None,
                "error": "",
            },
        )
        attached = Title.objects.filter(cover_url=url).update(cover_key=key)
    return f"cover {key} kept: {len(image)} bytes, {width}x{height}, for {counted(attached, 'title')}"


@require_GET
def cover(request, key):
    """A kept cover, cached by browsers for a year: a new cover has a new key."""
    image = Cover.objects.filter(key=key, fetched_at__isnull=False).values_list("image", flat=True).first()
    if image is None:
        raise Http404("No such cover here.")
    response = HttpResponse(bytes(image), content_type="image/jpeg")
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["ETag"] = f'"{key}"'
    return response
