"""A source's description as a page shows it: MangaDex's Markdown rendered safely, anything else as text.

Safely: no HTML of the source's own reaches the page (it is shown as text), links go only to public
http(s) addresses and open in a new tab without a referrer, and images become links.
"""

from html import escape

from markdown_it import MarkdownIt

from scraping.sources.values import public_link

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
# Links to anything but a public http(s) address are left as text.
_markdown.validateLink = lambda url: bool(public_link(url))


def _link_open(renderer, tokens, index, options, env):
    token = tokens[index]
    token.attrSet("rel", "nofollow noopener noreferrer")
    token.attrSet("target", "_blank")
    return renderer.renderToken(tokens, index, options, env)


def _image(renderer, tokens, index, options, env):
    token = tokens[index]
    alt = "".join(child.content for child in token.children or ()) or "image"
    src = public_link(token.attrGet("src"))
    if not src:
        return escape(alt)
    return f'<a href="{escape(src)}" rel="nofollow noopener noreferrer" target="_blank">{escape(alt)}</a>'


_markdown.add_render_rule("link_open", _link_open)
_markdown.add_render_rule("image", _image)

MAX_DESCRIPTION = 20_000


def description_html(text, text_format):
    """HTML of a title's description: rendered Markdown, or text with its paragraphs kept."""
    text = (text or "")[:MAX_DESCRIPTION]
    if not text.strip():
        return ""
    if text_format == "markdown":
        return _markdown.render(text)
    paragraphs = [part.strip() for part in text.replace("\r", "").split("\n\n") if part.strip()]
    return "".join(f"<p>{escape(part).replace(chr(10), '<br>')}</p>" for part in paragraphs)
