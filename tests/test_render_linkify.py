"""Bare URLs, entities and dropped links: the stored HTML is what bleach's clean_html makes."""

from __future__ import annotations

import pytest
from bleach.linkifier import URL_RE, LinkifyFilter

from commentsvc.render import (
    _strip_non_url_bits,
    _url_matches,
    clean_html,
    count_links,
    render_comment,
)
from tests.support.markdown import reference_html

REL = 'rel="nofollow ugc noopener"'


def link(url: str, href: str | None = None) -> str:
    return f'<a href="{href or url}" {REL}>{url}</a>'


# --- Where a bare URL begins and ends ----------------------------------------------------------

BARE_URLS = [
    pytest.param("see e.org now", f"<p>see {link('e.org', 'http://e.org')} now</p>", id="host"),
    pytest.param(
        "http://e.org/a.", f"<p>{link('http://e.org/a')}.</p>", id="trailing-period-left-out"
    ),
    pytest.param(
        "http://e.org/a,.", f"<p>{link('http://e.org/a')},.</p>", id="trailing-comma-and-period"
    ),
    pytest.param("(http://e.org/a)", f"<p>({link('http://e.org/a')})</p>", id="in-parentheses"),
    pytest.param(
        "((http://e.org/a))",
        f"<p>(({link('http://e.org/a')}))</p>",
        id="in-double-parentheses",
    ),
    pytest.param(
        "(see http://e.org/a)", f"<p>(see {link('http://e.org/a')})</p>", id="ends-a-parenthesis"
    ),
    pytest.param(
        "http://e.org/a_(b)",
        f"<p>{link('http://e.org/a_(b)')}</p>",
        id="balanced-parentheses-kept",
    ),
    pytest.param(
        # bleach takes the ")" after a "(" in the URL as its own, and so do we.
        "(http://e.org/a_(b)).",
        f"<p>({link('http://e.org/a_(b))')}.</p>",
        id="parenthesised-url-with-parentheses-keeps-the-closing-one",
    ),
    pytest.param(
        "http://e.org/a)),.", f"<p>{link('http://e.org/a')})),.</p>", id="closing-run-left-out"
    ),
    pytest.param(
        "e.org:8080/x?a=1&b=2",
        f'<p><a href="http://e.org:8080/x?a=1&amp;b=2" {REL}>e.org:8080/x?a=1&amp;b=2</a></p>',
        id="port-and-query",
    ),
    pytest.param(
        "HTTPS://E.ORG/X", f"<p>{link('HTTPS://E.ORG/X')}</p>", id="scheme-in-capitals-kept"
    ),
    pytest.param("ftp://e.org/f", "<p>ftp://e.org/f</p>", id="ftp-left-as-text"),
    pytest.param("a@e.org", "<p>a@e.org</p>", id="e-mail-address-left-as-text"),
]


@pytest.mark.parametrize(("source", "html"), BARE_URLS)
def test_a_bare_url_is_linked_without_the_punctuation_around_it(source, html):
    assert render_comment(source) == html
    assert reference_html(source) == html


# Texts that take each path of finding and trimming bare URLs. Each is rendered both ways and
# must come out the same.
LINKIFIED_TEXTS = {
    "where a url ends": [
        "http://e.org/a. next",
        "http://e.org/a, next",
        "http://e.org/a.,.,",
        "http://e.org/a)",
        "http://e.org/a))",
        "http://e.org/(a",
        "http://e.org/(a))",
        "http://e.org/a(b)c).",
        "(e.org",
        "(e.org)",
        "((e.org)",
        "(e.org))",
        "(((e.org)))",
        "((e.org/a(b))",
        "(e.org/a)b)",
        "(e.org/a,)",
        "(e.org.)",
        "(e.org/(x)).",
        "(e.org/a).",
        "((e.org/a)).",
        "e.org.",
        "e.org..",
        "e.org/.",
        "e.org/a.b.",
        "e.org/?",
        "e.org/?q=a.b,",
        "e.org#frag",
        "e.org/#frag.",
        "e.org/p~q#r",
        "e.org/a{b}c|d",
        'e.org/a"b',
        "e.org/a'b",
        "e.org/a`b",
    ],
    "where a url begins": [
        "xe.org",
        "a-b.e.org",
        "-a.e.org",
        "a_b.e.org",
        "a--b.e.org",
        "1.2.3.com",
        "a.b",
        "a..e.org",
        ".e.org",
        "@e.org",
        "x@e.org and e.org",
        "e.org.e.org",
        "e.orgx",
        "e.org.x",
        "e.org.uk",
        "e.co.uk/a",
        "a.b.c.d.e.org/x",
        "a-.e.org",
        "a.e.org-b.com",
        # No URL begins after "@" or ".", nor inside a run of hyphens, but one may begin at a
        # later hyphen of the same dotted name.
        "x@ab.e-x.com/y",
        "--.e.org",
        "e.org.com.",
        "the e.org, the e.com.",
        "e.org e.com",
        "e.org/e.com",
        "e.org e.com (e.net) e.io.",
        "a-a-a-a.a-a-a.com",
        "aaa-bbb-ccc",
        "a.b-c.d-e",
        "x.y.z",
        "abc:def",
        "a:b:c.com",
    ],
    "schemes": [
        "http://e.org",
        "https://e.org",
        "http:e.org",
        "http:/e.org",
        "http:///e.org",
        "http:////e.org",
        "xhttp://e.org",
        "1http://e.org",
        "-http://e.org",
        "myhttps://e.org",
        "https://https://e.org",
        "http://http://e.org",
        "mailto:a@e.org",
        "mailto:e.org",
        "MAILTO:e.org",
        "ftp://e.org",
        "sftp://e.org/x",
        "irc://e.org",
        "data:e.org",
        "javascript:e.org",
        "javascript://e.org/%0aalert(1)",
        "vbscript://e.org",
        "ssh:e.org",
        "a:http://e.org",
        "abcdefghijklmnop:e.org",
        "h:e.org",
        "ttp://e.org",
        "ps://e.org",
        "http://u@e.org",
        "http://u:p@e.org/x",
        "http://:p@e.org",
        "u@e.org/x",
        "http://e.org:80",
        "http://e.org:80:80",
        "e.org:",
        "e.org:x",
        "e.org:8080.",
    ],
    "hosts and ports": [
        "localhost:8080",
        "http://localhost/x",
        "http://127.0.0.1/x",
        "e.notatld",
        "e.ORG",
        "E.Org/A",
        "bücher.de",
        "http://bücher.de/ä",
        "xn--bcher-kva.de",
        "ドメイン.jp",
        "e.org/ä/ö",
        "e.org\u2100",
        "http://a\u2100b.com/",
        "http://e\uff03.org/",
        "e.org/\uff03x",
    ],
    "parentheses before a url or a word": [
        "(",
        "((",
        "(x",
        "(-",
        "( e.org",
        "(.e.org",
        "(http://e.org",
        "(xhttp://e.org",
        "((a-b.e.org/x))",
        "(a(e.org)",
        "(a.e.org(b.e.org))",
        "(e.org:8080)",
        "(http://e.org:8080/)",
        "(((",
        "((:",
        "((a:b",
        "(javascript:e.org)",
        "(ftp://e.org)",
    ],
    "entities and ampersands": [
        "e.org/?a=1&b=2",
        "e.org/?a=1&amp;b=2",
        "e.org/?a=&copy;",
        "e.org/?a=&copy",
        "e.org/?q=&lt;x&gt;",
        "e.org/&#x41;",
        "e.org/&#65;",
        "e.org&amp;amp;lt;",
        "&amp;e.org",
        "&e.org",
        "&amp;amp;e.org",
        "&copy;e.org",
        "e.org&copy;",
        "e.org&",
        "e.org&&",
        "e.org&#",
        "e.org&#x;",
        "&lt;e.org&gt;",
        "&quot;e.org&quot;",
        "e.org/&quot;x",
        "e.org/a&amp;b&amp;amp;c",
        "&amp;lt;e.org&amp;gt;",
        "x &amp;amp;amp;gt; e.org",
        "e.org/?a&amp=1&lt=2",
        "e.org/&notanentity;x",
        "e.org/&ampx",
        # A refused URL's text, once written, is split at its entities: x.com is a URL there.
        "ftp://e.org/&amp;lt;x.com",
        "http:e.org&amp;lt;x.com",
        "&ampe.org",
        "a &amp b &amp;b &#x26; c",
    ],
    "invisible characters": [
        "e.org\x07",
        "\x07e.org",
        "http://e.org/\x07x",
        "\x0be.org\x0b",
        "e.\x07org",
        "http://e.org/\u200bx",
        "e.org \x07 e.com",
        "\x07&amp;e.org",
        "e.org\x07&amp;lt;",
        "  \x07  ",
        "a\x1fb",
        "\x7f e.org",
    ],
    "markdown around a url": [
        "*e.org*",
        "**e.org**.",
        "_e.org_",
        "`e.org` e.org",
        "[e.org](https://e.com)",
        "[x](https://e.com) e.org",
        "[x e.org y](/rel)",
        "[x](/rel)e.org",
        "e.org[x](/rel)",
        "[e.](/rel)org",
        "<https://e.org/a.>",
        "<https://e.org> e.com",
        "> e.org\n\n- e.com\n- (e.net)",
        "e.org  \ne.com",
        "e.org\\\ne.com",
        "line\ne.org\r\ne.com",
        "    e.org\n",
        "```\ne.org\n```\ne.com",
        "1. e.org\n2. http://e.com/a.",
    ],
}


def rendered_both_ways(texts: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    return {t: render_comment(t) for t in texts}, {t: reference_html(t) for t in texts}


@pytest.mark.parametrize("texts", LINKIFIED_TEXTS.values(), ids=LINKIFIED_TEXTS)
def test_bare_urls_are_linked_as_clean_html_links_them(texts):
    ours, bleachs = rendered_both_ways(texts)
    assert ours == bleachs


URL_TEXTS = [
    *(text for texts in LINKIFIED_TEXTS.values() for text in texts),
    "a-a-a-a-a-a-a-a",
    "a-a.a-a.a-a.a-a",
    "((((a",
    "(((e.org",
    "x (((e.org)))",
    "((http://e.org/(x)",
    "https:",
    "https:e",
    "a-https://e.org",
    "e.org https://e.org",
    "éhttp://e.org",
    "_http://e.org",
    "http_s://e.org",
    "mailtox:e.org",
    "z:e.org",
    "e.org:a.com",
    "x.e.org:8080/y",
    "http://e.org:http://e.com",
]


def test_bare_urls_are_found_where_bleach_finds_them():
    ours = {text: [m.span() for m in _url_matches(text)] for text in URL_TEXTS}
    assert ours == {text: [m.span() for m in URL_RE.finditer(text)] for text in URL_TEXTS}


def test_bare_urls_are_trimmed_as_bleach_trims_them():
    urls = [m.group(0) for text in URL_TEXTS for m in URL_RE.finditer(text)]
    trim = LinkifyFilter(source=[]).strip_non_url_bits
    assert {url: _strip_non_url_bits(url) for url in urls} == {url: trim(url) for url in urls}


PUNCTUATED = [
    "",
    "(",
    ")",
    "()",
    "(()",
    "())",
    "((a))",
    "(a",
    "a)",
    "(a)b)",
    "(a(b)",
    "(a.",
    "a.,",
    "a),",
    "a(b),",
    "a(b)),.",
    "((a.)",
    "(a,)",
    ".,",
    "(.)",
    "a(",
    "(((a)).",
]


def test_punctuation_is_trimmed_from_a_url_as_bleach_trims_it():
    trim = LinkifyFilter(source=[]).strip_non_url_bits
    assert {f: _strip_non_url_bits(f) for f in PUNCTUATED} == {f: trim(f) for f in PUNCTUATED}


# --- Links kept, links dropped, and what is left of them ---------------------------------------

LINK_TEXTS = [
    "[x](https://e.org)",
    "[x](HTTP://E.ORG)",
    "[x](mailto:a@e.org)",
    "[x](MailTo:a@e.org)",
    "[x](mailto:)",
    "[x](http:)",
    "[x](http://)",
    "[x](http:///e.org)",
    "[x](https:e.org)",
    "[x](ftp://e.org)",
    "[x](//e.org)",
    "[x](e.org)",
    "[x](https://[::1]/)",
    "[x](https://[1/)",
    "[x](https://e.org/\u2100)",
    "[x](https://a\u2100b/)",
    "[x](https://a\uff03b/)",
    '[x](https://e.org "t&amp;t &copy; &bogus; & &lt;")',
    '[x](https://e.org "a\\"b")',
    '[x](https://e.org "&amp;amp;")',
    "[x](https://e.org/?a=1&b=2&amp;c=3&copy=4)",
    "[x](https://e.org/?a=&lt;&gt;)",
    "[x](https://e.org/&#x41;&#65;&ampx&amp)",
    "[x](https://e.org/&notanentity;)",
    "[x &amp; y &copy; &amp;amp;lt; & z](https://e.org)",
    "[x \x07 y](https://e.org)",
    "[e.org](https://e.com)",
    "[https://e.org/a.](https://e.com)",
    "[`e.org`](https://e.com)",
    "[*e.org* &amp;](https://e.com)",
    "[a <https://e.org> b](https://e.com)",
    "[*a <https://e.org> b*](https://e.com)",
    "[**a <https://e.org> b**](https://e.com) c",
    "[x &amp; y &copy; &amp;amp;lt; & z](/rel)",
    "[x \x07 &amp;\x07 y](/rel)",
    "[&lt;b&gt; &quot;q&quot;](/rel)",
    "[&amp;lt;x](/rel)",
    "[&amp;copy; &amp;quot;y &amp;amp;gt;](/rel)",
    "[a&copy;b&amp;c](/rel)",
    "[a & b](/rel) & c",
    "[*a* `b` **c**](/rel)",
    "[`x & &amp; &copy;`](/rel)",
    "[e.](/rel)org and [x](/rel).com",
    "e[.org](/rel)",
    "[e.org](/rel)/a.",
    "[http://](/rel)e.org",
    "[a](/r)[b](https://e.org)[c](/s)",
    "`[x](/rel)` [y](/rel)",
    "[x](/rel) `e.org` e.com",
    "```\n[x](/rel) e.org &amp;amp; &copy;\n```",
    "`&amp;amp;lt; &copy; & \x07`",
    "    &amp;amp; e.org \x07\n",
]


def test_links_are_kept_or_dropped_as_clean_html_does():
    ours, bleachs = rendered_both_ways(LINK_TEXTS)
    assert ours == bleachs


def test_a_dropped_links_text_keeps_its_characters_and_decoded_ampersands_only():
    assert (
        render_comment("[a &amp; b &copy; &lt;c&gt; & d](/rel)") == "<p>a &amp; b © c &amp; d</p>"
    )


def test_text_in_code_is_never_linked_and_keeps_its_entities():
    assert render_comment("`e.org &amp;amp; &copy;`") == (
        "<p><code>e.org &amp;amp;amp; &amp;copy;</code></p>"
    )


def test_a_link_keeps_its_title_and_gets_the_rel_of_comment_links():
    assert render_comment('[x](https://e.org/?a=1&b=2 "T &amp; &copy;")') == (
        f'<p><a href="https://e.org/?a=1&amp;b=2" title="T &amp; ©" {REL}>x</a></p>'
    )


# --- clean_html on HTML from elsewhere ---------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "cleaned"),
    [
        pytest.param(
            '<a href="https://e.org" target="_blank" rel="opener">x</a>',
            f'<a href="https://e.org" {REL}>x</a>',
            id="rel-replaced-target-dropped",
        ),
        pytest.param('<a href="/rel">x</a>', "x", id="relative-dropped"),
        pytest.param("<a>x</a>", "x", id="without-href-dropped"),
        pytest.param(
            '<a href="mailto:a@e.org">x</a>', f'<a href="mailto:a@e.org" {REL}>x</a>', id="mailto"
        ),
        pytest.param('<a href="http:e.org">x</a>', "x", id="scheme-without-host-dropped"),
        # U+2100 normalises to "a/c", which urlsplit refuses in a host.
        pytest.param('<a href="http://a\u2100b/">x</a>', "x", id="host-urlsplit-refuses-dropped"),
        pytest.param("e.org <b>x</b>", f"{link('e.org', 'http://e.org')} x", id="bare-url-linked"),
        pytest.param("<code>e.org</code>", "<code>e.org</code>", id="not-in-code"),
    ],
)
def test_clean_html_keeps_only_absolute_links_with_our_rel(html, cleaned):
    assert clean_html(html) == cleaned


def test_links_are_counted_by_their_opening_tags():
    assert count_links("") == 0
    assert count_links(render_comment("e.org and [x](https://e.com) but <abbr>")) == 2
    assert count_links("<a\nhref=x><abbr>") == 0
