"""Golden output of the renderer: what each allowed construct becomes, and what is dropped."""

from __future__ import annotations

import re

import pytest

from commentsvc.render import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, clean_html, render_comment
from tests.support.markdown import reference_html

from .conftest import unique_uri

REL = 'rel="nofollow ugc noopener"'

ALLOWED = [
    pytest.param("plain words", "<p>plain words</p>", id="p"),
    pytest.param("one\n\ntwo", "<p>one</p>\n<p>two</p>", id="p-two-paragraphs"),
    pytest.param("a  \nb", "<p>a<br>\nb</p>", id="br-two-spaces"),
    pytest.param("a\\\nb", "<p>a<br>\nb</p>", id="br-backslash"),
    pytest.param("*em* and _em_", "<p><em>em</em> and <em>em</em></p>", id="em"),
    pytest.param(
        "**st** and __st__", "<p><strong>st</strong> and <strong>st</strong></p>", id="strong"
    ),
    pytest.param("`x <b>`", "<p><code>x &lt;b&gt;</code></p>", id="code"),
    pytest.param("```\nx <b>\n```", "<pre><code>x &lt;b&gt;\n</code></pre>", id="pre-fenced"),
    pytest.param(
        "```python\nx = 1\n```",
        "<pre><code>x = 1\n</code></pre>",
        id="pre-fenced-language-class-dropped",
    ),
    pytest.param("    indented", "<pre><code>indented\n</code></pre>", id="pre-indented"),
    pytest.param("> quoted", "<blockquote>\n<p>quoted</p>\n</blockquote>", id="blockquote"),
    pytest.param("- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>", id="ul-li"),
    pytest.param("1. a\n2. b", "<ol>\n<li>a</li>\n<li>b</li>\n</ol>", id="ol-li"),
    pytest.param(
        '[x](https://example.com "T")',
        f'<p><a href="https://example.com" title="T" {REL}>x</a></p>',
        id="a-href-title",
    ),
    pytest.param(
        "[x](http://example.com)", f'<p><a href="http://example.com" {REL}>x</a></p>', id="a-http"
    ),
    pytest.param(
        "[x](HTTPS://EXAMPLE.COM)",
        f'<p><a href="HTTPS://EXAMPLE.COM" {REL}>x</a></p>',
        id="a-scheme-in-capitals",
    ),
    pytest.param(
        "[x](https://example.com/a?b=1&c=2#d)",
        f'<p><a href="https://example.com/a?b=1&amp;c=2#d" {REL}>x</a></p>',
        id="a-query-and-fragment",
    ),
    pytest.param(
        "[x](mailto:a@example.com)",
        f'<p><a href="mailto:a@example.com" {REL}>x</a></p>',
        id="a-mailto",
    ),
    pytest.param(
        "<https://example.com>",
        f'<p><a href="https://example.com" {REL}>https://example.com</a></p>',
        id="a-autolink",
    ),
    pytest.param(
        "<a@example.com>",
        f'<p><a href="mailto:a@example.com" {REL}>a@example.com</a></p>',
        id="a-email-autolink",
    ),
    pytest.param(
        "see https://example.com now",
        f'<p>see <a href="https://example.com" {REL}>https://example.com</a> now</p>',
        id="a-bare-url-linkified",
    ),
    pytest.param(
        "www.example.com",
        f'<p><a href="http://www.example.com" {REL}>www.example.com</a></p>',
        id="a-bare-www-linkified",
    ),
    pytest.param(
        "[x][r]\n\n[r]: https://example.com",
        f'<p><a href="https://example.com" {REL}>x</a></p>',
        id="a-reference",
    ),
    pytest.param(
        "[x](https://example.com 'say \"hi\"')",
        f'<p><a href="https://example.com" title="say &quot;hi&quot;" {REL}>x</a></p>',
        id="a-title-quotes-escaped",
    ),
]

# Markdown refuses some schemes itself and then shows the whole source as text; links it makes
# with any other scheme, or relative ones, lose the <a> and keep their text.
FORBIDDEN_LINKS = [
    pytest.param("[x](javascript:alert(1))", "<p>[x](javascript:alert(1))</p>", id="javascript"),
    pytest.param("[x](JaVaScRiPt:alert(1))", "<p>[x](JaVaScRiPt:alert(1))</p>", id="mixed-case"),
    pytest.param(
        "[x](&#106;avascript:alert(1))", "<p>[x](javascript:alert(1))</p>", id="decimal-entity"
    ),
    pytest.param(
        "[x](&#x6A;avascript:alert(1))", "<p>[x](javascript:alert(1))</p>", id="hex-entity"
    ),
    pytest.param("[x](java&Tab;script:alert(1))", "<p>x</p>", id="tab-entity"),
    pytest.param("[x](java&#09;script:alert(1))", "<p>x</p>", id="tab-numeric-entity"),
    pytest.param("[x](java&NewLine;script:alert(1))", "<p>x</p>", id="newline-entity"),
    pytest.param(
        "[x](javascript&colon;alert(1))", "<p>[x](javascript:alert(1))</p>", id="colon-entity"
    ),
    pytest.param("[x](java\tscript:alert(1))", "<p>[x](java\tscript:alert(1))</p>", id="tab-split"),
    pytest.param("[x](<java\tscript:alert(1)>)", "<p>x</p>", id="tab-split-in-brackets"),
    pytest.param(
        "[x](java\nscript:alert(1))", "<p>[x](java\nscript:alert(1))</p>", id="newline-split"
    ),
    pytest.param(
        "[x](  javascript:alert(1))", "<p>[x](  javascript:alert(1))</p>", id="leading-spaces"
    ),
    pytest.param(
        "[x](&#32;javascript:alert(1))",
        "<p>[x]( javascript:alert(1))</p>",
        id="leading-space-entity",
    ),
    pytest.param(
        "[x](<javascript:alert(1)>)",
        "<p>[x](&lt;javascript:alert(1)&gt;)</p>",
        id="javascript-in-brackets",
    ),
    pytest.param(
        "<javascript:alert(1)>", "<p>&lt;javascript:alert(1)&gt;</p>", id="javascript-autolink"
    ),
    pytest.param(
        "[x][r]\n\n[r]: javascript:alert(1)",
        "<p>[x][r]</p>\n<p>[r]: javascript:alert(1)</p>",
        id="javascript-reference",
    ),
    pytest.param(
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "<p>[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)</p>",
        id="data",
    ),
    pytest.param("<data:text/html,x>", "<p>&lt;data:text/html,x&gt;</p>", id="data-autolink"),
    pytest.param("[x](vbscript:msgbox(1))", "<p>[x](vbscript:msgbox(1))</p>", id="vbscript"),
    pytest.param("[x](ftp://example.com/f)", "<p>x</p>", id="ftp"),
    pytest.param("<ftp://example.com>", "<p>ftp://example.com</p>", id="ftp-autolink"),
    pytest.param("[x](/about)", "<p>x</p>", id="relative-absolute-path"),
    pytest.param("[x](about.html)", "<p>x</p>", id="relative-path"),
    pytest.param("[x](//evil.example/)", "<p>x</p>", id="relative-scheme"),
    pytest.param("[x](#top)", "<p>x</p>", id="relative-fragment"),
    pytest.param("[x](?page=2)", "<p>x</p>", id="relative-query"),
    pytest.param("[x](https:about)", "<p>x</p>", id="relative-with-https-scheme"),
    pytest.param("[x](http:/about)", "<p>x</p>", id="relative-with-http-scheme"),
    pytest.param("[x]()", "<p>x</p>", id="empty"),
]

RAW_HTML = [
    pytest.param("<b>bold</b>", "<p>&lt;b&gt;bold&lt;/b&gt;</p>", id="b"),
    pytest.param(
        "<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>", id="script"
    ),
    pytest.param(
        '<a href="javascript:alert(1)">x</a>',
        "<p>&lt;a href=&quot;javascript:alert(1)&quot;&gt;x&lt;/a&gt;</p>",
        id="a",
    ),
    pytest.param(
        '<a href="https://example.com">x</a>',
        f'<p>&lt;a href=&quot;<a href="https://example.com" {REL}>https://example.com</a>'
        "&quot;&gt;x&lt;/a&gt;</p>",
        id="a-whose-url-is-linkified-as-text",
    ),
    pytest.param(
        '<img src=x onerror="alert(1)">',
        "<p>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</p>",
        id="img-onerror",
    ),
    pytest.param(
        '<p style="color:red" onclick="alert(1)">x</p>',
        "<p>&lt;p style=&quot;color:red&quot; onclick=&quot;alert(1)&quot;&gt;x&lt;/p&gt;</p>",
        id="style-and-onclick",
    ),
    pytest.param("<!-- hidden -->", "<p>&lt;!-- hidden --&gt;</p>", id="comment"),
    pytest.param(
        "<div>\n*md*\n</div>", "<p>&lt;div&gt;\n<em>md</em>\n&lt;/div&gt;</p>", id="html-block"
    ),
    pytest.param("&lt;b&gt; &amp; &copy;", "<p>&lt;b&gt; &amp; ©</p>", id="entities"),
]

DISABLED_MARKDOWN = [
    pytest.param("# Heading", "<p># Heading</p>", id="heading"),
    pytest.param("Heading\n===", "<p>Heading\n===</p>", id="setext-heading"),
    pytest.param("---", "<p>---</p>", id="rule"),
    pytest.param(
        "![alt](https://example.com/a.png)",
        f'<p>!<a href="https://example.com/a.png" {REL}>alt</a></p>',
        id="image-is-a-link-never-an-img",
    ),
]


# Each text below takes one of the paths our copies of markdown-it's link helpers and renderer
# take; markdown-it-py's own parser is the oracle (tests.support.markdown).
SAME_AS_MARKDOWN_IT = [
    # Paragraphs and list items with and without characters the inline parser stops at.
    "",
    "plain",
    "-",
    "- \n- a",
    ">",
    "a\n\nb",
    # Link text: nested brackets, a link or a code span or an autolink holding "]" inside it.
    "[a [b] c](https://e.org/)",
    "[a [b]] c](https://e.org/)",
    "[a [b c](https://e.org/)",
    "[a [b](https://x.org/) c](https://e.org/)",
    "[a `]` b](https://e.org/)",
    "[a\\]b](https://e.org/)",
    "[<https://a.org/]>](https://e.org/)",
    "[*a]*](https://e.org/)",
    "[[[x](https://e.org/)",
    "[abc",
    # Reference links: the second label may hold a link, which does not end it.
    "[x][a[b]]\n\n[x]: https://x.org/\n[b]: https://b.org/",
    "[x][a]b]\n\n[x]: https://x.org/\n[a]: https://a.org/",
    "[x][y]\n\n[x]: https://x.org/\n[y]: https://y.org/",
    "[x][]\n\n[x]: https://x.org/",
    "[x][\n\n[x]: https://x.org/",
    # A destination in angle brackets may hold spaces and escaped ">", never "<" or a newline.
    "[x](<https://e.org/a b>)",
    "[x](<https://e.org/a\\>b>)",
    "[x](<https://e.org/a\\>>)",
    "[x](<https://e.org/a\nb>)",
    "[x](<https://e.org/a<b>)",
    "[x](<https://e.org/a\\",
    "[x](<>)",
    "[x](<https://e.org/&amp;\\*>)",
    "[r]: <https://e.org/a\\\n\n[r]",
    "[r]: <https://e.org/a b>\n\n[r]",
    "[r]: <https://e.org/a\\>",
    # A bare destination: balanced parentheses up to 32 deep, escapes, no spaces or controls.
    "[x](https://e.org/a(b)c)",
    "[x](https://e.org/a(b)",
    "[x](https://e.org/a)b)",
    "[x](https://e.org/a\\ b)",
    "[x](https://e.org/a\\(b)",
    "[x](https://e.org/a\\)b)",
    "[x](https://e.org/a\\)",
    "[x](https://e.org/a\x01b)",
    "[x](https://e.org/a\x7fb)",
    "[x](https://e.org/a\tb)",
    "[x](https://e.org/a b)",
    "[x](https://e.org/&amp;\\*)",
    "[x](https://e.org/" + "(" * 31 + ")" * 31 + ")",
    "[x](https://e.org/" + "(" * 32 + ")" * 32 + ")",
    "[x](https://e.org/" + "(" * 33 + ")" * 33 + ")",
    "[r]: https://e.org/a\\\n\n[r]",
    "[r]: https://e.org/a\\",
    "[r]: https://e.org/\n\n[r]",
    "[r]: https://e.org/(a\n\n[r]",
    "[r]: https://e.org/a)\n\n[r]",
    # Escapes, entities and line breaks in text.
    "a \\*b\\* &copy; &#13; &#13;&#10; c",
    "a  \nb\\\nc\nd",
    # An autolink inside a link's text ends the link there, and the emphasis it holds.
    "[a <https://b.org/> c](https://e.org/)",
    "[*a <https://b.org/> c*](https://e.org/)",
    "[**a <https://b.org/>** c](https://e.org/)",
    "[*a **b <https://c.org/>** d*](https://e.org/)",
    "[*a* <https://b.org/> *c*](https://e.org/)",
    "[a <https://b.org/> <https://c.org/> d](https://e.org/)",
    "*[a <https://b.org/> c](https://e.org/)*",
    "[a <https://b.org/> c](/rel)",
    "[*a <https://b.org/>* c](/rel)",
    # Blocks: tight and loose lists, nesting, code inside lists and quotes, empty items.
    "- a\n  - b\n- c",
    "- a\n\n- b",
    "1. a\n\n   b\n2. c",
    "3. a\n4. b",
    "> - a\n> - b\n>\n> c",
    "> > a\n>\n> b",
    "> > a",
    "- ```\n  x\n  ```\n- y",
    "- a\n\n      code\n- b",
    "> ```\n> x\n> ```",
    "-\n- a",
    "- \n  a",
    "1.\n2. b",
    "text\n\n    code\n\nmore",
    "- > a\n- b",
    "- a\n  > b",
    "a\n```\nb\n```\nc",
    # A carriage return (only an entity can write one) is read as a line feed.
    "a&#13;b&#13;&#10;c&#13;&#13;d&#13;\ne",
    '[x&#13;y](https://e.org/ "t&#13;&#10;u&#13;v")',
    "[x&#13;y](/r)",
    # Spaces around the comment, and links dropped twice over.
    "  padded  ",
    "0.A[L]() and 1.B[M]()",
    "*e* 0.A[L]()",
]


@pytest.mark.parametrize("text", SAME_AS_MARKDOWN_IT)
def test_stored_html_is_markdown_its_html_cleaned(text):
    assert render_comment(text) == reference_html(text)


@pytest.mark.parametrize(("source", "html"), ALLOWED)
def test_allowed_construct_renders_exactly(source, html):
    assert render_comment(source) == html


@pytest.mark.parametrize(("source", "html"), FORBIDDEN_LINKS)
def test_forbidden_link_is_dropped(source, html):
    assert render_comment(source) == html


@pytest.mark.parametrize(("source", "html"), RAW_HTML)
def test_raw_html_in_the_source_is_shown_as_text(source, html):
    assert render_comment(source) == html


@pytest.mark.parametrize(("source", "html"), DISABLED_MARKDOWN)
def test_disabled_markdown_stays_text(source, html):
    assert render_comment(source) == html


def test_golden_cases_cover_every_allowed_tag_and_attribute():
    """A tag or attribute added to the allowlist needs a golden case above."""
    outputs = " ".join(case.values[1] for case in ALLOWED)
    assert set(re.findall(r"<([a-z]+)", outputs)) == ALLOWED_TAGS
    links = re.findall(r"<a ([^>]*)>", outputs)
    assert {name for attrs in links for name in re.findall(r'(\w+)="', attrs)} == set(
        ALLOWED_ATTRIBUTES["a"]
    )


def test_link_text_freed_by_a_dropped_link_is_linkified_in_the_stored_html():
    # "[L]()" is a link to nowhere: dropped, its text joins "0.A" into the URL "0.AL".
    html = render_comment("0.A[L]()")
    assert html == f'<p><a href="http://0.AL" {REL}>0.AL</a></p>'
    assert clean_html(html) == html


def test_chained_ampersand_entities_are_stored_as_clean_html_leaves_them():
    # Each clean_html decodes one more "&amp;" of "&amp;amp;lt;" outside code; stored HTML is
    # what it no longer changes.
    html = render_comment("&amp;amp;lt; and `&amp;amp;lt;`")
    assert html == "<p>&lt; and <code>&amp;amp;amp;lt;</code></p>"
    assert clean_html(html) == html


def test_link_whose_host_is_not_a_valid_url_is_dropped_instead_of_raising():
    # U+2100 normalises to "a/c": urlsplit refuses such a host with ValueError.
    assert clean_html('<a href="http://a\u2100b/">y</a>') == "y"


def test_posted_comment_is_stored_and_served_with_the_rendered_html(client, make_comment):
    uri = unique_uri()
    source = (
        '**Hi** [site](https://example.com "T") [bad](javascript:alert(1)) [rel](/about)\n\n'
        "<script>alert(1)</script>"
    )
    expected = (
        f'<p><strong>Hi</strong> <a href="https://example.com" title="T" {REL}>site</a> '
        "[bad](javascript:alert(1)) rel</p>\n<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
    )

    posted = make_comment(uri, source)

    assert posted["html"] == expected
    thread = client.get("/api/threads", query_string={"uri": uri}).get_json()
    assert [c["html"] for c in thread["comments"]] == [expected]
