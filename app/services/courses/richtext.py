"""The one allowlist for teacher- and student-written HTML, applied on save and again on render."""
from __future__ import annotations

from functools import lru_cache

import nh3

_TAGS = {
    "h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "blockquote", "pre", "code",
    "ul", "ol", "li",
    "a", "img",
    "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td",
    "strong", "b", "em", "i", "u", "s", "sub", "sup",
}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "th": {"colspan", "rowspan", "scope"},
    "td": {"colspan", "rowspan"},
}
# Images by URL only: data: URLs could smuggle content past review, and javascript: is never a link.
_URL_SCHEMES = {"http", "https", "mailto"}
# Their text is code or CSS, not prose: drop it along with the tag instead of leaving it on the page.
_DROP_WITH_CONTENT = {"script", "style", "template", "iframe", "object", "noscript"}


# Pages show the same few texts again and again (every view of an activity sanitises its description and content
# on the way out), and the same text always gives the same result: the latest results are kept, for texts up to
# this size (at most about 256 × 64 KB).
CACHED_LENGTH = 65536


def sanitise(html: str | None) -> str:
    """Keep headings, paragraphs, lists, links (rel="noopener"), images by URL, tables and emphasis.

    Scripts, styles, event handlers and javascript: URLs never survive.
    """
    if not html:
        return ""
    return _clean_kept(html) if len(html) <= CACHED_LENGTH else _clean(html)


@lru_cache(maxsize=256)
def _clean_kept(html: str) -> str:
    return _clean(html)


def _clean(html: str) -> str:
    return nh3.clean(html, tags=_TAGS, attributes=_ATTRIBUTES, url_schemes=_URL_SCHEMES, link_rel="noopener",
                     clean_content_tags=_DROP_WITH_CONTENT, strip_comments=True).strip()
