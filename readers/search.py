"""The shelf's one search box: a URL or id names a title; anything else is a name, searched on every
live source (scraping.searching), each result marked with what the reader's shelf already has."""

from django.urls import reverse

from readers.models import Follow
from scraping import searching, sources
from scraping.models import Cover, Title
from scraping.sources.errors import InvalidTitleReference


class NotATitle(ValueError):
    """Looks like a URL but names no title batoshelf follows; the message is one short sentence."""


def reference_in(text):
    """The TitleRef a pasted URL or id names; None when `text` is a name to search for; NotATitle
    when it looks like a URL that names no title (the reason in one short sentence)."""
    text = (text or "").strip()
    looks_like_address = "://" in text or text.startswith("www.") or ("/" in text and " " not in text)
    try:
        return sources.parse_reference(text)
    except InvalidTitleReference as error:
        if looks_like_address:
            raise NotATitle(short_reason(text, error)) from None
        return None


def short_reason(text, error):
    """One sentence for a URL batoshelf cannot follow."""
    message = str(error)
    if "is not a site batoshelf follows" in message:
        return f"That is not a page on {sources.SITES_IN_WORDS}."
    if "old MangaUpdates link" in message:
        return "That is an old MangaUpdates link: open it and paste the address it shows now."
    if "(that is a chapter" in message:
        return "That is a chapter's page: paste its title's page."
    return f"That address is not a title's page on {sources.SITES_IN_WORDS}."


def results(query, user, *, exclude_source=None):
    """The search for `query` as the shelf shows it: (results, pending source names, errors by source).

    Each result: source, source_id, name, names (other names with languages), url, year, latest
    chapter, cover_url (here, or None until batoshelf has it), cover_coming (its fetch not done yet),
    title_id (if batoshelf has it) and on_shelf. Costs three queries, whatever the number of results.
    """
    found = searching.find(query, exclude_source=exclude_source)
    candidates = found.candidates
    pairs = {(c["source"], c["source_id"]) for c in candidates}
    known = {}
    if pairs:
        for pk, source, source_id in Title.objects.filter(
            source__in={s for s, _ in pairs}, source_id__in={i for _, i in pairs}
        ).values_list("pk", "source", "source_id"):
            known[(source, source_id)] = pk
    on_shelf = set(Follow.objects.filter(user=user, title_id__in=known.values()).values_list("title_id", flat=True))
    cover_keys = {Cover.key_of(c["cover_url"]): c["cover_url"] for c in candidates if c["cover_url"]}
    fetches = Cover.objects.filter(key__in=cover_keys).values_list("key", "fetched_at", "failed_at")
    kept = {key for key, fetched_at, _ in fetches if fetched_at}
    failed = {key for key, fetched_at, failed_at in fetches if failed_at and not fetched_at}
    rows = []
    for candidate in candidates:
        title_id = known.get((candidate["source"], candidate["source_id"]))
        key = Cover.key_of(candidate["cover_url"]) if candidate["cover_url"] else ""
        rows.append(
            {
                "source": candidate["source"],
                "source_name": sources.get(candidate["source"]).display_name,
                "source_id": candidate["source_id"],
                "reference": f"{candidate['source']}:{candidate['source_id']}",
                "name": candidate["name"],
                "names": list(candidate["alt_names"]),
                "url": candidate["url"],
                "year": candidate["year"],
                "latest_chapter": candidate["latest_chapter"],
                "cover_url": reverse("cover", args=[key]) if key in kept else None,
                "cover_coming": bool(key) and key not in kept and key not in failed,
                "title_id": title_id,
                "on_shelf": title_id in on_shelf,
            }
        )
    return rows, found.pending, found.errors
