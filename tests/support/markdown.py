"""The oracle for stored Markdown: what render_comment is documented to store."""

from __future__ import annotations

from markdown_it import MarkdownIt

from commentsvc.render import clean_html

# markdown-it-py's own parser with render_comment's rules. render_comment makes its HTML from the
# parser's tokens, much faster, through our own copies of markdown-it's link helpers and renderer.
_MARKDOWN_IT = MarkdownIt("commonmark", {"html": False}).disable(
    ["image", "heading", "lheading", "hr", "html_block", "html_inline"]
)


def reference_html(text: str) -> str:
    """markdown-it's own HTML for text, through clean_html until it no longer changes."""
    html = clean_html(_MARKDOWN_IT.render(text))
    while (again := clean_html(html)) != html:
        html = again
    return html.strip()
