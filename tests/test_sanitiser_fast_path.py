"""clean_html's fast path for simple HTML gives exactly bleach's result, and is taken."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commentsvc import render
from commentsvc.importers import READERS
from commentsvc.importers.records import SourceComment
from commentsvc.render import clean_html, render_html

from .conftest import corpus
from .test_import_formats import remark42_file
from .test_sanitiser_corpora import CORPORA, html_problems
from .test_sanitiser_property import ENTITIES, SCHEMES

REPO = Path(__file__).resolve().parent.parent


def bleach_clean(html: str) -> str:
    """What bleach itself makes of html, without the fast path."""
    return render._cleaner.clean(html)


def fast_clean(html: str) -> str | None:
    """The fast path's result, None where it leaves html to bleach."""
    return render._clean_simple_html(html)


def assert_same_as_bleach(html: str) -> bool:
    """clean_html(html) is bleach's own result; True if the fast path gave it."""
    fast, expected = fast_clean(html), bleach_clean(html)
    assert clean_html(html) == expected
    if fast is None:
        return False
    assert fast == expected, f"fast path differs from bleach for {html!r}"
    return True


# --- generated HTML: simple trees, and near misses of them -----------------------------------

WORDS = [
    "word",
    "two words",
    " ",
    "\n",
    "\n\n",
    "\r\n",
    "\r",
    "\t",
    "é",
    "“quoted”",
    "🙂",
    "日本語",
    "example.com",
    "www.example.org/a?b=c&amp;d=e",
    "http://example.com/x_(y)",
    "https://a.example/.",
    "(see https://b.example/)",
    "a@example.com",
    "mailto:a@example.com",
    "javascript:alert(1)",
    "x.y",
    "1.5",
    "AT&T",
    "Q & A",
    "&",
    "&amp;amp;lt;",
    "&notit;",
    "&copy",
    "&copy;",
    "&#169;",
    "&#x1F642;",
    "&#1114112;",
    "&#xD800;",
    "<",
    ">",
    "a < b",
    "\x00",
    "\x0b",
    "\x0c",
    "\x7f",
    "\u0085",
    "\u200b",
    "\ufeff",
    "\ufffe",
    "\u2100",
    '"',
    "'",
    "=",
    "/",
]
HREFS = [
    *["https://example.com/", "http://example.com/a?b=c&amp;d=e"] * 10,
    "HTTPS://EXAMPLE.COM",
    "mailto:a@example.com",
    "https://example.com/&lt;x&gt;",
    "https://example.com/a b",
    "https://[example.com",
    "https://&#91;x",
    "&#104;ttps://example.com",
    "https:example.com",
    "https://example.com/é",
    "/relative",
    "#top",
    "",
    *(scheme + "example.com" for scheme in SCHEMES),
]
TITLES = ["t", "&amp;", "&lt;tag&gt;", "<em>post</em>", "a &amp;amp; b", "&", "&copy", "“q”", ""]


def _quoted(value: str) -> st.SearchStrategy[str]:
    return st.sampled_from(['"{}"'] * 8 + ["'{}'", "{}"]).map(lambda form: form.format(value))


# Mostly what the fast path takes, with near misses among them at every step.
attribute = st.one_of(
    st.builds(lambda v: f"href={v}", st.sampled_from(HREFS).flatmap(_quoted)),
    st.builds(lambda v: f"title={v}", st.sampled_from(TITLES).flatmap(_quoted)),
    st.sampled_from(['rel="nofollow noopener"'] * 4 + ['rel="x"', "rel", 'target="_blank"']),
)
near_miss_attribute = st.sampled_from(['class="c"', "onclick=alert(1)", 'HREF="x"', 'href=""'])
link_start = st.builds(
    lambda href, attrs, at: (
        "<a" + "".join(" " + a for a in [*attrs[:at], *href, *attrs[at:]]) + ">"
    ),
    st.sampled_from([['href="https://example.com/"']] * 6 + [[]]),
    st.lists(st.one_of(*[attribute] * 9, near_miss_attribute), max_size=3),
    st.integers(0, 3),
)
text = st.lists(
    st.one_of(
        *[st.sampled_from(WORDS[:17] + ["&amp;", "&lt;", "&quot;", "&copy;", "&#169;"])] * 30,
        st.sampled_from(WORDS + ENTITIES),
        st.text(alphabet=st.characters(codec="utf-8"), max_size=3),
    ),
    max_size=5,
).map("".join)
NEAR_MISSES = [
    "<p>",
    "</p>",
    "<li>",
    "</li>",
    "<a>",
    "</a>",
    "<em>",
    "</em>",
    "<br>",
    "</br>",
    "<br/>",
    "<p/>",
    "<P>",
    "</EM>",
    "<b>",
    "<div>",
    "</div>",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<!-- c -->",
    "<!DOCTYPE html>",
    "<![CDATA[x]]>",
    "<?xml x?>",
    "<em >",
    "</em >",
    "<p class=x>",
    "<pre>\n",
    "<",
    "</",
    ">",
]


# Every allowed tag that holds content, at any depth in any other (so <p> in <p>, <li> outside a
# list, <ul> in <em>), some unclosed, and tags bleach strips or html5lib reads otherwise.
CONTAINERS = sorted(render.ALLOWED_TAGS - {"a", "br"}) * 4 + ["b", "div", "P", "Em"]
closes = st.sampled_from([True] * 19 + [False])


def _element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    element = st.builds(
        lambda tag, inner, close: f"<{tag}>{inner}" + (f"</{tag}>" if close else ""),
        st.sampled_from(CONTAINERS),
        children,
        closes,
    )
    link = st.builds(
        lambda start, inner, close: f"{start}{inner}" + ("</a>" if close else ""),
        link_start,
        children,
        closes,
    )
    lists = st.builds(
        lambda tag, items: f"<{tag}>" + "".join(f"<li>{i}</li>" for i in items) + f"</{tag}>",
        st.sampled_from(["ul", "ol"]),
        st.lists(children, max_size=3),
    )
    return st.one_of(element, element, link, lists, children.map(lambda c: c + "<br>"))


well_formed = st.recursive(text, lambda inner: st.lists(_element(inner), max_size=4).map("".join))
# Trees of allowed tags around plain text and good links, any tag in any other: those nested as
# html5lib leaves them take the fast path. Then the same with one near miss put in anywhere.
plain_text = st.lists(st.sampled_from(WORDS[:17] + ["&amp;", "&lt;", "&copy;"]), max_size=3)
good_link = st.sampled_from(
    ['<a href="https://example.com/">', '<a href="http://e.example/?a&amp;b" title="&lt;t&gt;">']
)


def _plain_element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(
            lambda tag, inner: f"<{tag}>{inner}</{tag}>",
            st.sampled_from(sorted(render.ALLOWED_TAGS - {"a", "br", "li", "ul", "ol"})),
            children,
        ),
        st.builds(lambda start, inner: f"{start}{inner}</a>", good_link, children),
        st.builds(
            lambda tag, items: f"<{tag}>" + "".join(f"<li>{i}</li>" for i in items) + f"</{tag}>",
            st.sampled_from(["ul", "ol"]),
            st.lists(children, max_size=3),
        ),
        children.map(lambda inner: f"{inner}<br>"),
    )


plain_trees = st.recursive(
    plain_text.map("".join), lambda inner: st.lists(_plain_element(inner), max_size=3).map("".join)
)
near_miss = st.one_of(
    st.sampled_from(NEAR_MISSES + WORDS + ENTITIES), link_start, st.text(max_size=2)
)
with_a_near_miss = st.builds(
    lambda html, at, snippet: html[: at % (len(html) + 1)] + snippet + html[at % (len(html) + 1) :],
    plain_trees,
    st.integers(0, 10**6),
    near_miss,
)
html_texts = st.one_of(
    plain_trees,
    with_a_near_miss,
    with_a_near_miss,
    well_formed,
    st.lists(
        st.one_of(well_formed, well_formed, link_start, st.sampled_from(NEAR_MISSES)),
        max_size=5,
    ).map("".join),
)


@settings(max_examples=1500, deadline=None)
@given(html=html_texts)
def test_fast_path_gives_what_bleach_gives_for_any_html(html):
    assert_same_as_bleach(html)


@settings(max_examples=300, deadline=None)
@given(html=well_formed)
def test_fast_path_result_is_allowlisted_and_clean(html):
    cleaned = clean_html(html)
    assert html_problems(cleaned) == []
    assert assert_same_as_bleach(cleaned) or fast_clean(cleaned) is None


@pytest.mark.parametrize(
    "html",
    [
        "<p>Hi <em>there</em>, see example.com.</p>",
        '<p><a href="https://example.com/" rel="nofollow" title="&lt;t&gt;">x</a> &amp; y</p>',
        "<blockquote><p>quoted</p></blockquote><ul><li>a</li> <li><strong>b</strong></li></ul>",
        "<pre><code>x.com &lt;b&gt;</code></pre><p>a<br>b<br/>c</p>",
        "text with https://example.org/path and “quotes” 🙂\nover lines",
        # A closed link, <code> or <pre> ends what is never linkified: the URLs after are.
        '<p><a href="https://a.example/">a</a> example.com <code>c</code> example.org</p>'
        "<pre>e</pre>example.net",
        # Carriage returns read as html5lib reads them, in attribute values too.
        '<p><a href="https://a.example/" title="a\r\nb\rc">x</a>\r\ny</p>',
    ],
)
def test_simple_well_formed_html_takes_the_fast_path(html):
    assert assert_same_as_bleach(html)


@pytest.mark.parametrize(
    "html",
    [
        "<p><p>nested</p></p>",  # the second <p> closes the first
        "<p><blockquote>x</blockquote></p>",
        "<a href='https://example.com/'>single quotes</a>",
        '<a href="https://a.example/"><a href="https://b.example/">link in link</a></a>',
        '<a href="javascript:alert(1)">dropped link</a> www.example.com',
        '<a href="https://example.com/" href="https://evil.example/">x</a>',
        "<P>uppercase</P>",
        "<em>unclosed",
        "<em><strong>misnested</em></strong>",
        "<pre>\nfirst newline</pre>",
        "<!-- comment --><p>x</p>",
        "<li>item outside a list</li>",
        "a > b",
        "AT&T",
        "<div>a tag bleach strips</div>",
        '<a title="no href">a link without href is dropped</a>',
    ],
)
def test_html_html5lib_would_change_is_left_to_bleach(html):
    assert not assert_same_as_bleach(html)


# --- the corpora -------------------------------------------------------------------------------


@pytest.mark.parametrize("source", CORPORA, ids=[c.path for c in CORPORA])
def test_fast_path_gives_what_bleach_gives_for_the_corpora(source):
    vectors = source.read(corpus(*source.path.split("/")))
    for vector in vectors:
        assert_same_as_bleach(vector)
        # As the importers pass HTML: each vector alone in a paragraph, and in a link's text.
        assert_same_as_bleach(f"<p>{vector}</p>")
        assert_same_as_bleach(f'<p><a href="https://example.com/">{vector}</a></p>')


IMPORTS = [  # the formats whose comments are HTML (Isso's are Markdown)
    ("disqus", ("imports", "disqus", "isso-disqus.xml")),
    ("disqus", ("imports", "disqus", "remark42-disqus.xml")),
    ("disqus", ("imports", "disqus", "remark42-disqus-deleted-post.xml")),
    ("wordpress", ("imports", "wordpress", "isso-wordpress.xml")),
    ("wordpress", ("imports", "wordpress", "gconverters-wordpress-sample2.wxr")),
    ("blogger", ("imports", "blogger", "gconverters-blogger-sample2.xml")),
]


@pytest.mark.parametrize("fmt, path", IMPORTS, ids=["/".join(p[1:]) for _, p in IMPORTS])
def test_imported_comments_are_stored_as_bleach_cleans_them(fmt, path, monkeypatch, tmp_path):
    name = path[-1]
    source = remark42_file(tmp_path, name) if name.startswith("remark42") else corpus(*path)
    records = list(READERS[fmt](str(source), None))
    texts = [r.text for r in records if isinstance(r, SourceComment) and r.text_format == "html"]
    assert texts, f"{path} holds no HTML comments"
    with_fast_path = [render_html(t) for t in texts]
    monkeypatch.setattr(render, "_clean_simple_html", lambda html: None)
    assert with_fast_path == [render_html(t) for t in texts]


# --- the benchmark's comments ------------------------------------------------------------------


def _bench_module():
    spec = importlib.util.spec_from_file_location("import_bench", REPO / "bench/import_bench.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("import_bench", module)
    spec.loader.exec_module(module)
    return module


def test_the_benchmarks_comments_take_the_fast_path(monkeypatch):
    bench = _bench_module()
    rng = random.Random(bench.SEED)
    messages = [bench.message(rng) for _ in range(2000)]
    real, taken = render._clean_simple_html, []

    def counted(html: str) -> str | None:
        cleaned = real(html)
        taken.append(cleaned is not None)
        return cleaned

    monkeypatch.setattr(render, "_clean_simple_html", counted)
    stored = [render_html(m) for m in messages]
    # Each is simple, well-formed HTML: were the fast path to refuse them, an import would
    # run at bleach's speed again.
    assert (len(taken), sum(taken)) == (len(messages), len(messages))
    monkeypatch.setattr(render, "_clean_simple_html", lambda html: None)
    assert stored == [render_html(m) for m in messages]
