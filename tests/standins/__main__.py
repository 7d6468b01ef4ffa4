"""Run the stand-ins on loopback, for trying batoshelf without the real sources.

python -m tests.standins --demo    # Bato :8765, MangaDex :8766, MangaUpdates :8767, MANGA Plus :8768,
                                   # WEBTOON :8769, Tapas :8770, a site's feed :8771
curl -X POST localhost:8766/_standin/titles/<uuid>/chapters -d '{"count": 1, "language": "en"}'
"""

import argparse
import threading
from datetime import UTC, datetime, timedelta

from scraping.sources.mangaupdates import base36
from tests.standins import BatoStandIn, MangaDexStandIn, MangaUpdatesStandIn
from tests.standins.feeds import SiteFeedStandIn, TapasStandIn, WebtoonStandIn
from tests.standins.mangaplus import MangaPlusStandIn

VILLAINESS = "Please Don't Come To The Villainess' Stationery Store!"
DEMO_MANGADEX_ID = "8f3a6c1e-5b2d-4c7a-9e10-3d2b1a0f9e88"
DEMO_VILLAINESS_ID = "0c6f1d2e-7a8b-4c9d-8e0f-1a2b3c4d5e6f"


def demo(bato, mangadex, mangaupdates, mangaplus, webtoon, tapas, site_feed):
    bato.add_title("102497", VILLAINESS, chapters=57)
    bato.add_title("110100", "진격의 문구점", chapters=12, lang="ko")
    bato.add_title("72315", "月曜日のたわわ", chapters=1500, lang="ja")
    mangaupdates.add_title(
        name="Kaguya&#039;s Love &amp; War", releases=3000, range_every=40, groups=("Some Scans", "Other Scans")
    )
    villainess = mangaupdates.add_title(name=VILLAINESS.replace("'", "&#039;"), releases=60)
    mangadex.add_title(
        DEMO_MANGADEX_ID,
        "Example Title",
        chapters=1500,
        languages=("en", "es-la", "pt-br"),
        groups=("Some Scans", "Other Scans", "Third Scans"),
        links={},
    )
    # The same series as the MangaUpdates one, and MangaDex says so (its MangaUpdates id, in base 36).
    mangadex.add_title(
        DEMO_VILLAINESS_ID,
        VILLAINESS,
        chapters=58,
        alt_names=("악녀의 문구점에 오지 마세요!",),
        alt_language="ko",
        links={"mu": base36(villainess.series_id)},
    )
    # The publisher announces the next chapter: the shelf shows it, the next check comes just after.
    mangaplus.add_title(100020, "ONE PIECE", chapters=40, next_release=datetime.now(UTC) + timedelta(days=2))
    webtoon.add_title(95, "Tower of God", episodes=30)
    tapas.add_title(12345, "Some Story", slug="some-story", episodes=12)
    site_feed.add_title("series", "Series Name", episodes=8)


def main():
    parser = argparse.ArgumentParser(description="Run the stand-ins for every source on loopback.")
    parser.add_argument(
        "--port",
        type=int,
        default=8765,
        help="Bato's port; MangaDex, MangaUpdates, MANGA Plus, WEBTOON, Tapas and a site's feed the next",
    )
    parser.add_argument("--demo", action="store_true", help="start with a few titles on each")
    args = parser.parse_args()
    kinds = (
        BatoStandIn,
        MangaDexStandIn,
        MangaUpdatesStandIn,
        MangaPlusStandIn,
        WebtoonStandIn,
        TapasStandIn,
        SiteFeedStandIn,
    )
    try:
        bato, mangadex, mangaupdates, mangaplus, webtoon, tapas, site_feed = (
            kind(port=args.port + n) for n, kind in enumerate(kinds)
        )
    except OSError as error:
        last = args.port + len(kinds) - 1
        parser.exit(1, f"A port from {args.port} to {last} is taken ({error.strerror}): choose others with --port.\n")
    if args.demo:
        demo(bato, mangadex, mangaupdates, mangaplus, webtoon, tapas, site_feed)
    for standin in (bato, mangadex, mangaupdates, mangaplus, webtoon, tapas, site_feed):
        ids = ", ".join(str(i) for i in standin.titles) or "none"
        print(f"{standin.name} stand-in on {standin.api_url} (titles: {ids})", flush=True)
    print(
        "Point batoshelf at them, in .env:\n"
        f"BATO_SITE_URLS={bato.api_url}\nMANGADEX_API_URL={mangadex.api_url}\n"
        f"MANGADEX_COVERS_URL={mangadex.url}/covers\nMANGAUPDATES_API_URL={mangaupdates.api_url}\n"
        f"MANGAUPDATES_COVERS_URL={mangaupdates.url}\nMANGAPLUS_API_URL={mangaplus.api_url}\n"
        f"MANGAPLUS_COVERS_URL={mangaplus.url}\nWEBTOON_URL={webtoon.url}\nTAPAS_URL={tapas.url}\n"
        f"# the demo feed is on this machine: feed:{site_feed.url}/feed/series\nFEEDS_ALLOW_PRIVATE=true\n"
        "# and so is a web hook you try a channel with (json://127.0.0.1:PORT/)\nNOTIFY_ALLOW_PRIVATE_TARGETS=true\n"
        "Add a title by its source and id (mangaupdates:ID, md:UUID, bato:ID, mangaplus:ID, tapas:ID) or its address.\n"
        "Ctrl-C stops them.",
        flush=True,
    )
    for standin in (mangadex, mangaupdates, mangaplus, webtoon, tapas, site_feed):
        threading.Thread(target=standin.serve_forever, daemon=True).start()
    try:
        bato.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
