"""Markdown to safe HTML: the only module that knows the Markdown parser and the HTML sanitiser."""

from __future__ import annotations

import threading
from functools import partial
from urllib.parse import urlsplit

import bleach
from bleach.linkifier import LinkifyFilter
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {"p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a"}
)
ALLOWED_ATTRIBUTES = {"a": ["href", "title", "rel"]}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow ugc noopener"

# CommonMark with raw HTML off: a reader's "<b>" is shown as text, never parsed as markup.
# Images and headings are switched off so their source reads as plain text.
_markdown = MarkdownIt("commonmark", {"html": False}).disable(
    ["image", "heading", "lheading", "hr", "html_block", "html_inline"]
)


_dropped = threading.local()  # links the current clean_html() pass has dropped


def _link_attributes(attrs, new=False):
    # Relative links would resolve against the blog's page; only absolute ones are kept.
    # "https:page" counts as relative: a browser on an https page resolves it like "page".
    href = attrs.get((None, "href"), "")
    try:
        parts = urlsplit(href)
    except ValueError:  # e.g. a host that NFKC-normalises to "/" or "#"
        parts = None
    scheme = parts.scheme.lower() if parts else ""
    if scheme not in ALLOWED_PROTOCOLS or (scheme != "mailto" and not parts.netloc):
        _dropped.links = getattr(_dropped, "links", 0) + 1
        return None
    attrs[(None, "rel")] = LINK_REL
    attrs.pop((None, "target"), None)
    return attrs


_cleaner = bleach.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    protocols=ALLOWED_PROTOCOLS,
    strip=True,
    strip_comments=True,
    filters=[partial(LinkifyFilter, callbacks=[_link_attributes], skip_tags=["pre", "code"])],
)


def render_comment(text: str) -> str:
    """The stored HTML of a comment's Markdown source."""
    # A link dropped by _link_attributes leaves its text beside its neighbours, where another
    # pass may find a URL ("0.A[L]()" -> "0.AL"); then it is cleaned once more, because the
    # stored HTML must come out of clean_html unchanged.
    _dropped.links = 0
    html = clean_html(_markdown.render(text))
    if _dropped.links:
        html = clean_html(html)
    return html.strip()


def clean_html(html: str) -> str:
    """Sanitise HTML to the allowlist; applying it twice changes nothing."""
    return _cleaner.clean(html)


def count_links(html: str) -> int:
    return html.count("<a ")
