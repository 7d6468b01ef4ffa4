"""Covers: fetched once from the source's image host through its gate, kept small, served from here
with long caching; never hotlinked; a placeholder when there is none."""

import io

import pytest
from PIL import Image

from scraping.checking.pipeline import check_title, import_title
from scraping.covers import CoverUnusable, fetch_cover, thumbnail
from scraping.models import Cover, Title
from scraping.sources import TitleRef

pytestmark = pytest.mark.django_db


def cover_requests(site):
    return [r for r in site.api_requests() if "/covers/" in r.path or r.path.startswith("/image/")]


def test_a_cover_is_fetched_once_after_the_import_kept_small_and_served_here(as_reader, reader, mangadex, run_tasks):
    entry = mangadex.add_title(name="Covered", chapters=2)
    with run_tasks():
        title = import_title(TitleRef("mangadex", entry.dex_id), user=reader).title
    title = Title.objects.get(pk=title.pk)
    [fetched] = cover_requests(mangadex)
    assert fetched.path.endswith(".256.jpg"), "the source's own small size"
    assert fetched.headers["User-Agent"].startswith("batoshelf/")
    cover = Cover.objects.get()
    assert title.cover_key == cover.key and cover.width <= 256
    served = as_reader.get(title.cover_path)
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    assert served["Cache-Control"] == "public, max-age=31536000, immutable"
    assert Image.open(io.BytesIO(served.content)).width <= 256
    page = as_reader.get("/shelf/").content.decode()
    assert f'src="{title.cover_path}"' in page and "uploads.mangadex.org" not in page, "never hotlinked"
    # Checked again, the same cover is not fetched again.
    with run_tasks():
        check_title(Title.objects.select_related("schedule").get(pk=title.pk))
    assert len(cover_requests(mangadex)) == 1


def test_a_cover_that_cannot_be_had_leaves_the_placeholder_and_is_tried_a_day_later(as_reader, reader, mangadex):
    entry = mangadex.add_title(name="Uncovered", chapters=1)
    title = import_title(TitleRef("mangadex", entry.dex_id), user=reader).title
    entry.cover_file = "gone.jpg"  # the image host answers 404
    assert "not kept" in fetch_cover("mangadex", Title.objects.get(pk=title.pk).cover_url)
    assert Cover.objects.get().failed_at and not Title.objects.get(pk=title.pk).cover_key
    assert "tried again a day on" in fetch_cover("mangadex", Title.objects.get(pk=title.pk).cover_url)
    assert len(cover_requests(mangadex)) == 1
    assert 'class="cover small placeholder"' in as_reader.get("/shelf/").content.decode()
    assert as_reader.get("/covers/" + "0" * 32 + ".jpg").status_code == 404


def test_a_cover_on_another_host_is_never_fetched(mangaupdates, reader):
    series = mangaupdates.add_title(releases=1)
    series.record["image"]["url"]["original"] = "http://169.254.169.254/latest/meta-data.jpg"
    title = import_title(TitleRef("mangaupdates", str(series.series_id)), user=reader).title
    assert title.cover_url == "", "a link into the network is no cover"
    assert "not on the source's own image host" in fetch_cover("mangaupdates", "https://evil.example/image/x.jpg")
    assert not cover_requests(mangaupdates)


def jpeg(width, height):
    out = io.BytesIO()
    Image.new("RGB", (width, height), "red").save(out, "JPEG")
    return out.getvalue()


def test_only_real_images_of_a_sane_size_become_covers():
    image, width, height = thumbnail(jpeg(1024, 1440))
    assert (width, height) == (256, 360) and image[:2] == b"\xff\xd8"
    for bad in (b"<html>not an image</html>", jpeg(300, 400)[:200], b"GIF89a" + b"\0" * 10):
        with pytest.raises(CoverUnusable):
            thumbnail(bad)
    with pytest.raises(CoverUnusable, match="pixels, too many"):
        thumbnail(jpeg(6000, 6000))
