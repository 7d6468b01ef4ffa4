"""Stand-ins for the sources: real HTTP servers on loopback that speak each source's documented shapes.

The tests talk HTTP to these, never to a mocked `requests`. Run all three for a demo:

    python -m tests.standins --demo
"""

from tests.standins.bato import BatoStandIn
from tests.standins.mangadex import MangaDexStandIn
from tests.standins.mangaupdates import MangaUpdatesStandIn

__all__ = ["BatoStandIn", "MangaDexStandIn", "MangaUpdatesStandIn"]
