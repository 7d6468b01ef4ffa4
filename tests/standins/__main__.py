"""Run the three stand-ins on loopback, for trying batoshelf without the real sources.

python -m tests.standins --demo            # Bato on :8765, MangaDex on :8766, MangaUpdates on :8767
curl -X POST localhost:8766/_standin/titles/<uuid>/chapters -d '{"count": 1, "language": "en"}'
"""

import argparse
import threading

from tests.standins import BatoStandIn, MangaDexStandIn, MangaUpdatesStandIn

VILLAINESS = "Please Don't Come To The Villainess' Stationery Store!"
DEMO_MANGADEX_ID = "8f3a6c1e-5b2d-4c7a-9e10-3d2b1a0f9e88"
DEMO_VILLAINESS_ID = "0c6f1d2e-7a8b-4c9d-8e0f-1a2b3c4d5e6f"


def demo(bato, mangadex, mangaupdates):
    bato.add_title("102497", VILLAINESS, chapters=57)
    bato.add_title("110100", "진격의 문구점", chapters=12, lang="ko")
    bato.add_title("72315", "月曜日のたわわ", chapters=1500, lang="ja")
    mangadex.add_title(
        DEMO_MANGADEX_ID,
        "Example Title",
        chapters=1500,
        languages=("en", "es-la", "pt-br"),
        groups=("Some Scans", "Other Scans", "Third Scans"),
    )
    mangadex.add_title(DEMO_VILLAINESS_ID, VILLAINESS, chapters=58, alt_names=("악녀의 문구점에 오지 마세요!",))
    mangaupdates.add_title(
        name="Kaguya&#039;s Love &amp; War", releases=3000, range_every=40, groups=("Some Scans", "Other Scans")
    )
    mangaupdates.add_title(name=VILLAINESS.replace("'", "&#039;"), releases=60)


def main():
    parser = argparse.ArgumentParser(description="Run the Bato, MangaDex and MangaUpdates stand-ins on loopback.")
    parser.add_argument(
        "--port", type=int, default=8765, help="Bato's port; MangaDex takes the next, MangaUpdates the one after"
    )
    parser.add_argument("--demo", action="store_true", help="start with a few titles on each")
    args = parser.parse_args()
    bato, mangadex, mangaupdates = (
        BatoStandIn(port=args.port),
        MangaDexStandIn(port=args.port + 1),
        MangaUpdatesStandIn(port=args.port + 2),
    )
    if args.demo:
        demo(bato, mangadex, mangaupdates)
    for standin in (bato, mangadex, mangaupdates):
        ids = ", ".join(str(i) for i in standin.titles) or "none"
        print(f"{standin.name} stand-in on {standin.api_url} (titles: {ids})", flush=True)
    print(
        "Point batoshelf at them, in .env:\n"
        f"BATO_SITE_URLS={bato.api_url}\nMANGADEX_API_URL={mangadex.api_url}\n"
        f"MANGADEX_COVERS_URL={mangadex.url}/covers\nMANGAUPDATES_API_URL={mangaupdates.api_url}\n"
        f"MANGAUPDATES_COVERS_URL={mangaupdates.url}\nCtrl-C stops them.",
        flush=True,
    )
    for standin in (mangadex, mangaupdates):
        threading.Thread(target=standin.serve_forever, daemon=True).start()
    try:
        bato.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
