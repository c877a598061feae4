"""Markdown to safe HTML: the only module that knows the Markdown parser and the HTML sanitiser."""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Iterable, Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from functools import partial
from types import SimpleNamespace
from typing import Any, NamedTuple, cast
from urllib.parse import urlsplit

import bleach
from bleach.html5lib_shim import (  # type: ignore[attr-defined]  # missing from the stubs
    ENTITIES,
    allowed_protocols,
    convert_entity,
    match_entity,
    next_possible_entity,
)
from bleach.linkifier import PROTO_RE, URL_RE, LinkifyFilter
from bleach.sanitizer import INVISIBLE_CHARACTERS_RE, INVISIBLE_REPLACEMENT_CHAR
from markdown_it import MarkdownIt, helpers
from markdown_it.common.utils import escapeHtml, unescapeAll
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

ALLOWED_TAGS = frozenset(
    {"p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a"}
)
ALLOWED_ATTRIBUTES = {"a": ["href", "title", "rel"]}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow ugc noopener"

# CommonMark with raw HTML off: a reader's "<b>" is shown as text, never parsed as markup.
# Images and headings are switched off so their source reads as plain text.
_OFF = ["image", "heading", "lheading", "hr", "html_block", "html_inline"]
_markdown = MarkdownIt("commonmark", {"html": False}).disable(_OFF)
# A text with this many "[" is a flood or a paste of code, not prose with a few links: there
# the brackets are read as text (bare URLs are still linked). markdown-it-py spends about 5 µs
# on each "[" looking for a link, which made floods of them cost 50 to 65 ms.
LINK_BRACKETS = 1000
_markdown_without_links = MarkdownIt("commonmark", {"html": False}).disable([*_OFF, "link"])


def _is_absolute_link(href: str) -> bool:
    # Relative links would resolve against the blog's page; only absolute ones are kept.
    # "https:page" counts as relative: a browser on an https page resolves it like "page".
    try:
        parts = urlsplit(href)
    except ValueError:  # e.g. a host that NFKC-normalises to "/" or "#"
        return False
    scheme = parts.scheme.lower()
    return scheme in ALLOWED_PROTOCOLS and (scheme == "mailto" or bool(parts.netloc))


def _link_attributes(
    attrs: MutableMapping[tuple[str | None, str], str], new: bool = False
) -> MutableMapping[tuple[str | None, str], str] | None:
    if not _is_absolute_link(attrs.get((None, "href"), "")):
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
    # The stubs' callback may not return None, which bleach documents as dropping the link.
    filters=[partial(LinkifyFilter, callbacks=[_link_attributes], skip_tags=["pre", "code"])],  # type: ignore[list-item]
)


def clean_html(html: str) -> str:
    """Sanitise HTML to the allowlist; applying it twice changes nothing."""
    # Most HTML is simple and well formed, and html5lib's parsing costs most of the time of an
    # import; such HTML gets bleach's result without it (see _clean_simple_html).
    simple = _clean_simple_html(html)
    return simple if simple is not None else _cleaner.clean(html)


def count_links(html: str) -> int:
    return html.count("<a ")


def render_comment(text: str) -> str:
    """The stored HTML of a comment's Markdown source."""
    # This is clean_html(the parser's HTML), made from the parser's tokens instead: bleach's
    # HTML parsing and tree walking cost up to 2 s for 10,000 characters of Markdown, which
    # made previews a denial of service. A link dropped by _is_absolute_link leaves its text
    # beside its neighbours, where another pass may find a URL ("0.A[L]()" -> "0.AL"); then
    # it is cleaned once more, because the stored HTML must come out of clean_html unchanged.
    with _collection_paused():
        parser = _markdown if text.count("[") < LINK_BRACKETS else _markdown_without_links
        pieces, dropped = _clean(_html_pieces(parser.parse(text)))
        if dropped:
            pieces, _ = _clean(_joined(pieces))
        return "".join(p.html if p.__class__ is _Tag else p for p in pieces).strip()


# Tags of old blog platforms with an allowed equivalent (Blogger wrote <B> and <I>).
_LEGACY_TAGS = re.compile(r"<(/?)(b|i)(?=[\s/>])", re.IGNORECASE)
_LEGACY_NAMES = {"b": "strong", "i": "em"}
_BLOCKS = re.compile(r"<(?:p|br|div|ul|ol|blockquote|pre)[\s/>]", re.IGNORECASE)
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
TEXT_FORMATS = ("markdown", "html")


def render_html(source: str) -> str:
    """The stored HTML of a comment imported as HTML: the same sanitiser as every comment.

    Line breaks count as in WordPress's comments: where the HTML has no paragraphs or breaks
    of its own, a blank line starts a paragraph and a newline breaks the line.
    """
    html = _LEGACY_TAGS.sub(lambda m: f"<{m[1]}{_LEGACY_NAMES[m[2].lower()]}", source.strip())
    if not _BLOCKS.search(html):
        html = "".join(
            f"<p>{part.strip().replace(chr(10), '<br>')}</p>"
            for part in _PARAGRAPH_BREAK.split(html)
            if part.strip()
        )
    return clean_html(html).strip()


def render_source(text: str, text_format: str = "markdown") -> str:
    """The stored HTML of a comment's source text, in the format it was written in."""
    return render_html(text) if text_format == "html" else render_comment(text)


@contextmanager
def _collection_paused() -> Iterator[None]:
    # A long comment makes tens of thousands of tokens and pieces, freed by reference counting
    # when it is rendered. Meanwhile they would set off garbage collections, each of which walks
    # every object of the process: 40 to 60 ms more for 10,000 characters of quotes.
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


# --- markdown-it, without its slowest paths ----------------------------------------------------
#
# Exact copies of its rules and helpers, that skip work whose outcome is already known.


def _inline(state: StateCore) -> None:
    """markdown-it's core "inline" rule, without running the inline parser on plain text."""
    # Without a character that stops its text rule, the inline parser makes one text token of
    # the content, at a cost that is most of a short paragraph's.
    stops = getattr(state.md.inline, "terminator_re", None)  # markdown-it-py 4
    for token in state.tokens:
        if token.type == "inline":
            if token.children is None:
                token.children = []
            if stops and token.content and not stops.search(token.content):
                token.children.append(Token("text", "", 0, content=token.content))
            else:
                state.md.inline.parse(token.content, state.md, state.env, token.children)


def _parse_link_label(state: StateInline, start: int, disable_nested: bool = False) -> int:
    """markdown-it's helpers.parseLinkLabel, stepping over the tokens it has seen inline."""
    # The same loop, but a token the inline parser has already skipped (state.cache) is skipped
    # here too without calling skipToken: on "[[[[..." each "[" walks back over up to maxNesting
    # of them, which made 10,000 characters of brackets and emphasis cost 300 ms to parse.
    old_pos, src, end, cache = state.pos, state.src, state.posMax, state.cache
    pos, level = start + 1, 1
    while pos < end:
        marker = src[pos]
        if marker == "]":
            level -= 1
            if level == 0:
                state.pos = old_pos
                return pos
        previous = pos
        pos = cache.get(pos, -1)
        if pos < 0:
            state.pos = previous
            state.md.inline.skipToken(state)
            pos = state.pos
        if marker == "[":
            if previous == pos - 1:  # a "[" of text, not part of another token
                level += 1
            elif disable_nested:
                break
    state.pos = old_pos
    return -1


class _Destination:
    __slots__ = ("ok", "pos", "str")

    def __init__(self, ok: bool = False, pos: int = 0, string: str = "") -> None:
        self.ok, self.pos, self.str = ok, pos, string


_IN_BRACKETS_STOP = re.compile(r"[\n<>\\]")
_DESTINATION_STOP = re.compile(r"[\x00-\x20\x7f\\()]")


def _parse_link_destination(string: str, pos: int, maximum: int) -> _Destination:
    """markdown-it's helpers.parseLinkDestination, jumping to the characters that matter."""
    # The same rules: a destination may nest 32 parentheses, so each "(" of a text can have
    # it scan on over 32 more, which it did one character (and one call) at a time.
    start = pos
    if string.startswith("<", pos):
        pos += 1
        while found := _IN_BRACKETS_STOP.search(string, pos, maximum):
            pos = found.start()
            if string[pos] == ">":
                return _Destination(True, pos + 1, unescapeAll(string[start + 1 : pos]))
            if string[pos] != "\\":
                break
            pos += 2 if pos + 1 < maximum else 1
        return _Destination()
    level = 0
    while found := _DESTINATION_STOP.search(string, pos, maximum):
        pos = found.start()
        char = string[pos]
        if char == "\\" and pos + 1 < maximum:
            if string[pos + 1] == " ":
                break
            pos += 2
            continue
        if char == "(":
            level += 1
            if level > 32:
                return _Destination()
        elif char == ")":
            if level == 0:
                break
            level -= 1
        elif char != "\\":  # a space or a control character
            break
        pos += 1
    else:
        pos = max(pos, maximum)
    if start == pos or level != 0:
        return _Destination()
    return _Destination(True, pos, unescapeAll(string[start:pos]))


for _parser in (_markdown, _markdown_without_links):
    _parser.core.ruler.at("inline", _inline)
    # markdown-it types helpers as its module; any object with the same functions serves.
    _parser.helpers = SimpleNamespace(
        **{  # type: ignore[assignment]
            **{name: value for name, value in vars(helpers).items() if not name.startswith("_")},
            "parseLinkLabel": _parse_link_label,
            "parse_link_label": _parse_link_label,
            "parseLinkDestination": _parse_link_destination,
            "parse_link_destination": _parse_link_destination,
        }
    )


# --- The parser's tokens as HTML pieces --------------------------------------------------------
#
# A piece is a text as it is written in HTML (a str, entities and all), a _Tag that cleaning
# looks at (<a>, <pre>, <code>), or _Markup it passes by (other tags, and the newlines of
# markdown-it's renderer between blocks). Tags are reduced to what clean_html keeps of them:
# markdown-it's "<ol start>" and "<code class>" lose their attributes. (Lists of pieces are
# typed list[Any]: they are told apart by __class__, which type checkers cannot narrow on.)


class _Tag(NamedTuple):
    name: str
    nesting: int  # 1 opens, -1 closes
    html: str
    attrs: dict[str, str] | None = None  # an <a>'s attributes, as written in its HTML


class _Markup(str):
    """Tags and the newlines between blocks, which cleaning leaves as they are."""


_BLOCK_TAGS = frozenset({"p", "blockquote", "ul", "ol", "li"})
_PRE, _END_PRE = _Tag("pre", 1, "<pre>"), _Tag("pre", -1, "</pre>")
_CODE, _END_CODE = _Tag("code", 1, "<code>"), _Tag("code", -1, "</code>")
_END_A = _Tag("a", -1, "</a>")
_INLINE_TAGS = {
    "em_open": "<em>",
    "em_close": "</em>",
    "strong_open": "<strong>",
    "strong_close": "</strong>",
}
_CLOSING = {"<em>": "</em>", "<strong>": "</strong>"}


class _Pieces:
    """The pieces being written, texts and markup joined until a piece of another kind."""

    def __init__(self) -> None:
        self.pieces: list[Any] = []
        self._text: list[str] = []
        self._markup: list[str] = []

    def text(self, html: str) -> None:
        if self._markup:
            self._flush()
        self._text.append(html)

    def markup(self, html: str) -> None:
        if self._text:
            self._flush()
        self._markup.append(html)

    def tag(self, piece: _Tag) -> None:
        self._flush()
        self.pieces.append(piece)

    def done(self) -> list[Any]:
        self._flush()
        return self.pieces

    def _flush(self) -> None:
        if self._text:
            self.pieces.append(_newlines("".join(self._text)))
            self._text.clear()
        if self._markup:
            self.pieces.append(_Markup("".join(self._markup)))
            self._markup.clear()


def _html_pieces(tokens: Sequence[Token]) -> list[Any]:
    out = _Pieces()
    for index, token in enumerate(tokens):
        kind = token.type
        if kind == "inline":
            _inline_pieces(token.children or (), out)
        elif kind == "code_block" or kind == "fence":
            out.tag(_PRE)
            out.tag(_CODE)
            out.text(escapeHtml(token.content))
            out.tag(_END_CODE)
            out.tag(_END_PRE)
            out.markup("\n")
        elif token.tag in _BLOCK_TAGS and not token.hidden:  # as markdown-it's renderToken
            opening = token.nesting != -1
            if opening and index and tokens[index - 1].hidden:
                out.markup("\n")
            out.markup(f"<{token.tag}>" if opening else f"</{token.tag}>")
            after = tokens[index + 1] if opening and index + 1 < len(tokens) else None
            if after is None or not (
                after.type == "inline"
                or after.hidden
                or (after.nesting == -1 and after.tag == token.tag)
            ):
                out.markup("\n")
    return out.done()


def _inline_pieces(children: Iterable[Token], out: _Pieces) -> None:
    link_open = False
    emphasis: list[str] = []  # the <em> and <strong> opened inside the open link
    stray_link_ends = 0
    for child in children:
        kind = child.type
        if kind == "text" or kind == "text_special":
            out.text(escapeHtml(child.content))
        elif kind == "softbreak":
            out.text("\n")
        elif kind == "hardbreak":
            out.markup("<br>")
            out.text("\n")
        elif kind == "code_inline":
            out.tag(_CODE)
            out.text(escapeHtml(child.content))
            out.tag(_END_CODE)
        elif kind == "link_open":
            if link_open:
                # An autolink in a link's text: HTML parsing closes the outer link there,
                # reopens the emphasis it held, and ignores the outer link's end tag.
                out.markup("".join(_CLOSING[html] for html in reversed(emphasis)))
                out.tag(_END_A)
                out.markup("".join(emphasis))
                stray_link_ends += 1
            attrs = {key: _newlines(escapeHtml(str(value))) for key, value in child.attrs.items()}
            out.tag(_Tag("a", 1, "", attrs))
            link_open, emphasis = True, []
        elif kind == "link_close":
            if link_open:
                out.tag(_END_A)
                link_open = False
            elif stray_link_ends:
                stray_link_ends -= 1
        elif kind in _INLINE_TAGS:
            html = _INLINE_TAGS[kind]
            if link_open and html in _CLOSING:
                emphasis.append(html)
            elif link_open and emphasis:
                emphasis.pop()
            out.markup(html)
        elif child.content:  # nothing else is enabled; never markup, whatever it is
            out.text(escapeHtml(child.content))


def _newlines(html: str) -> str:
    # HTML parsing reads a carriage return (the parser writes "&#13;" as one) as a line feed.
    return html.replace("\r\n", "\n").replace("\r", "\n") if "\r" in html else html


def _joined(pieces: list[Any]) -> list[Any]:
    """The pieces as HTML parsing sees them again: adjacent texts are one."""
    joined: list[Any] = []
    for piece in pieces:
        if piece.__class__ is str and joined and joined[-1].__class__ is str:
            joined[-1] += piece
        else:
            joined.append(piece)
    return joined


# --- What clean_html does to those pieces ------------------------------------------------------
#
# bleach.Cleaner without its HTML parser, step by step, on text as bleach's tokenizer leaves it
# (entities not decoded): the sanitizer turns invisible characters into "?", "&amp;" into "&"
# and sets other entities apart; then, outside <pre> and <code>, the LinkifyFilter decodes the
# entities that "&" now starts, links bare URLs outside links, and drops the links that
# _link_attributes refuses, keeping only their text (without markup or entities); last, the
# serializer escapes "&", "<" and ">".


def _clean(pieces: list[Any]) -> tuple[list[Any], bool]:
    """The pieces clean_html makes of them, and whether it dropped a link."""
    out: list[Any] = []
    dropped = False
    in_link = False
    link_text: list[str] | None = None  # the text of a link being dropped
    skip = None  # the <pre> or <code> whose text is never linkified
    for piece in pieces:
        if piece.__class__ is _Markup:
            if link_text is None:  # a dropped link keeps its text only
                out.append(piece)
        elif piece.__class__ is str:
            if link_text is not None:
                link_text.append(_text_of(piece))
            elif in_link:
                out.append(_write(piece, _decoded))
            elif skip:
                out.append(_write(piece, _escape))
            else:
                dropped |= _linkify(piece, out)
        elif piece.name == "a":
            if piece.nesting == -1:
                out.append(_escape("".join(link_text)) if link_text is not None else piece)
                in_link, link_text = False, None
            elif _is_absolute_link(piece.attrs.get("href", "")):
                attrs = {k: v for k, v in piece.attrs.items() if k in ALLOWED_ATTRIBUTES["a"]}
                out.append(_link({**attrs, "rel": LINK_REL}))
                in_link = True
            else:
                link_text, dropped = [], True
        elif link_text is None:
            if not in_link and piece.nesting == 1 and piece.name in ("pre", "code"):
                skip = piece.name
            elif not in_link and piece.nesting == -1 and piece.name == skip:
                skip = None
            out.append(piece)
    return out, dropped


def _link(attrs: dict[str, str]) -> _Tag:
    written = {key: _attribute(value) for key, value in attrs.items()}
    html = "<a" + "".join(f' {key}="{value}"' for key, value in written.items()) + ">"
    return _Tag("a", 1, html, written)


_ATTRIBUTE_ESCAPES = re.compile('[&<"]')


def _attribute(value: str) -> str:
    """An attribute value as bleach's serializer writes it between double quotes."""
    if not _ATTRIBUTE_ESCAPES.search(value):
        return value
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    parts = []
    for part in next_possible_entity(value.replace("&amp;", "&")):  # then "&" that starts no
        if part.startswith("&"):  # known entity is escaped
            entity = match_entity(part)
            if entity is not None and convert_entity(entity) is not None:
                parts.append(f"&{entity};{part[len(entity) + 2 :]}")
                continue
        parts.append(part.replace("&", "&amp;"))
    return "".join(parts)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _Entity(str):
    """An entity's name, set apart by the sanitizer from the text around it."""


_SPACES = "\t\n\x0c\r "  # html5lib leaves these, at either end of a text, out of its sanitising
# Cleaning leaves a text as it is unless it holds an invisible character, or an "&" that starts
# none of the entities escapeHtml writes, or an "&amp;" that may start one once decoded.
_UNSETTLED = re.compile(
    f"&(?!lt;|gt;|quot;|amp;(?![A-Za-z#]))|[{INVISIBLE_CHARACTERS_RE.pattern[1:-1]}]"
)
_ENTITY_START = re.compile("&[A-Za-z#]")
_WRITTEN_ENTITIES = (("&amp;", "amp"), ("&lt;", "lt"), ("&gt;", "gt"), ("&quot;", "quot"))


def _entity(part: str) -> str | None:
    """match_entity(part), quickly for the entities escapeHtml writes and for a lone "&"."""
    for written, name in _WRITTEN_ENTITIES:
        if part.startswith(written):
            return name
    return match_entity(part) if len(part) > 1 else None


def _sanitised(html: str) -> list[str]:
    """The Characters (str) and Entity (_Entity) tokens the sanitizer makes of a text."""
    if INVISIBLE_CHARACTERS_RE.search(html):
        start = len(html) - len(html.lstrip(_SPACES))
        end = len(html.rstrip(_SPACES))
        middle = INVISIBLE_CHARACTERS_RE.sub(INVISIBLE_REPLACEMENT_CHAR, html[start:end])
        html = html[:start] + middle + html[end:] if start < end else html
    if "&" not in html:
        return [html]
    tokens: list[str] = []
    characters: list[str] = []
    for part in next_possible_entity(html):
        entity = _entity(part) if part.startswith("&") else None
        if entity is None:
            characters.append(part)
            continue
        if entity == "amp":
            characters.append("&")
        else:
            tokens += ["".join(characters), _Entity(entity)]
            characters = []
        characters.append(part[len(entity) + 2 :])
    tokens.append("".join(characters))
    return tokens


def _write(html: str, characters: Callable[[str], str]) -> str:
    """A text cleaned, characters(str) writing each Characters token."""
    if not _UNSETTLED.search(html):
        return html
    return "".join(f"&{t};" if t.__class__ is _Entity else characters(t) for t in _sanitised(html))


def _decoded(characters: str) -> str:
    """A Characters token written once the LinkifyFilter has decoded its entities."""
    # Each "&amp;" that bleach decodes to "&" may start an entity with what follows it, which
    # another clean_html would decode too: "&amp;amp;lt;" -> "&amp;lt;" -> "&lt;". Decoding
    # them all at once writes what clean_html leaves unchanged (a single pass would not).
    if not _ENTITY_START.search(characters):  # entities begin with a letter or "#"
        return _escape(characters)
    parts = []
    for part in next_possible_entity(characters):
        if not part.startswith("&"):
            parts.append(_escape(part))
            continue
        start = 1
        while part.startswith("amp;", start):
            start += 4
        rest = part[start:]
        entity = _entity("&" + rest)
        if entity is None:
            parts.append("&amp;" + _escape(rest))
        else:
            parts.append(f"&{entity};" + _escape(rest[len(entity) + 1 :]))
    return "".join(parts)


def _text_of(html: str) -> str:
    """What is left of a text in a dropped link: its characters, without entities but "&"."""
    text = []
    for token in _sanitised(html):
        if token.__class__ is _Entity:
            continue
        for part in next_possible_entity(token):
            entity = _entity(part) if part.startswith("&") else None
            if entity is None:
                text.append(part)
            else:
                text.append(("&" if entity == "amp" else "") + part[len(entity) + 2 :])
    return "".join(text)


def _linkify(html: str, out: list[Any]) -> bool:
    """Add a text outside links to out with its bare URLs linked; True if one was refused."""
    if "." not in html and not _UNSETTLED.search(html):
        out.append(html)  # no URL in it either
        return False
    refused = False
    for token in _sanitised(html):
        if token.__class__ is _Entity:
            out.append(f"&{token};")
            continue
        end = 0
        for match in _url_matches(token) if _HOST_DOT.search(token) else ():
            if match.start() > end:
                out.append(_decoded(token[end : match.start()]))
            url, prefix, suffix = _strip_non_url_bits(match.group(0))
            href = url if PROTO_RE.search(url) else f"http://{url}"
            if _is_absolute_link(href):
                out += [
                    _decoded(prefix),
                    _link({"href": href, "rel": LINK_REL}),
                    _decoded(url),
                    _END_A,
                    _decoded(suffix),
                ]
            else:
                out.append(_decoded(prefix + url + suffix))
                refused = True
            end = match.end()
        out.append(_decoded(token[end:]))
    return refused


# --- Bare URLs, in linear time -----------------------------------------------------------------
#
# bleach's URL_RE, tried at every position as finditer does, runs from each one to the end of
# the word before it fails, so "a-a-a-..." costs quadratic time, and "a-a.a-a.a-a..." worse
# (19 s for 10,000 characters). The starts inside one run of word characters and hyphens share
# their fate: a host ("a-b.") needs a dot after its run and a scheme ("http:") a colon, and what
# follows is the same text from any of them. So are the runs of one dotted name: a later run
# may only end its host on a later part. So URL_RE is tried once per run, from the first start
# it allows, once per dotted name if that fails, and near the colon of a run that ends in one.

# Every match of URL_RE holds a host's last label, its dot and a top-level domain (letters).
_HOST_DOT = re.compile(r"[\w-]\.\w")
_CANDIDATE = re.compile(r"[(\w-]")
_PARENTHESES = re.compile(r"\(+")
_RUN = re.compile(r"[\w-]+")
_DOTTED_NAME = re.compile(r"(?:[\w-]+\.)+")
_START = re.compile(r"\b(?<![@.])")  # where URL_RE lets a scheme or a host begin
_LONGEST_SCHEME = max(map(len, allowed_protocols))


def _url_matches(text: str) -> Iterator[re.Match[str]]:
    """The matches of URL_RE.finditer(text)."""
    pos = 0
    while found := _CANDIDATE.search(text, pos):
        start = run = found.start()
        if text[start] == "(":
            run = cast(re.Match[str], _PARENTHESES.match(text, start)).end()
            if not _RUN.match(text, run):
                pos = run
                continue
            if match := URL_RE.match(text, start):  # else no start in the parentheses matches
                yield match
                pos = match.end()
                continue
        end = cast(re.Match[str], _RUN.match(text, run)).end()
        after, match = text[end : end + 1], None
        if after == ".":
            first = _START.search(text, run, end)
            if first and first.start() < end:
                match = URL_RE.match(text, first.start())
                if not match:
                    end = cast(re.Match[str], _DOTTED_NAME.match(text, run)).end()
        elif after == ":":
            for start in range(max(run, end - _LONGEST_SCHEME), end):
                if _START.match(text, start) and (match := URL_RE.match(text, start)):
                    break
        if match:
            yield match
            pos = match.end()
        else:
            pos = end


def _strip_non_url_bits(fragment: str) -> tuple[str, str, str]:
    """LinkifyFilter.strip_non_url_bits, without its quadratic slicing."""
    start, end = 0, len(fragment)
    suffix: list[str] = []
    while start < end and fragment[start] == "(":
        start += 1
        if start < end and fragment[end - 1] == ")":
            end -= 1
            suffix.append(")")
    opens = "(" in fragment[start:end]
    while start < end and (fragment[end - 1] in ",." or (fragment[end - 1] == ")" and not opens)):
        end -= 1
        suffix.append(fragment[end])
    return fragment[start:end], "(" * start, "".join(reversed(suffix))


# --- Simple HTML, cleaned without html5lib -----------------------------------------------------
#
# HTML made only of allowlisted tags, nested so that html5lib's tree building keeps every one
# where it is written (no <p> that another block would close, no link in a link, every tag
# closed in order), with double-quoted attributes of a link only, and text without "<", ">",
# control characters or entities of unusual forms, is read here into the pieces _clean takes,
# which give bleach's own result. Anything else, or a link _clean would drop, returns None:
# bleach then cleans it. tests/test_sanitiser_fast_path.py holds the two results equal.

_HTML_SPACE = "[ \t\n\x0c]"
_MARKUP_TAG = re.compile(
    f'<(?:([a-z]+)((?:{_HTML_SPACE}+[a-z]+="[^"]*")*){_HTML_SPACE}*(/?)|/([a-z]+))>'
)
_TAG_ATTRIBUTE = re.compile(f'{_HTML_SPACE}+([a-z]+)="([^"]*)"')
# Text and attribute values: no control characters, surrogates or noncharacters, and an "&"
# only as a named entity ending in ";", a decimal or hexadecimal one, or before a character
# that starts none. Text has no ">" either: bleach reads it as a character, not as "&gt;"; nor
# an "&amp;" that makes an entity once decoded, which _decoded decodes further than bleach.
_NOT_SIMPLE_VALUE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]"
    "|&(?!#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{0,31};|[^A-Za-z0-9#])"
)
_NOT_SIMPLE_TEXT = re.compile(f">|&amp;[A-Za-z0-9#]|{_NOT_SIMPLE_VALUE.pattern}")
_NAMED_ENTITY = re.compile("&([A-Za-z][A-Za-z0-9]*;)")
# An href bleach keeps as written: an allowed scheme, then ASCII that no step of its URL
# checks removes, decodes or reads otherwise (no spaces, brackets, entities but "&amp;").
_SIMPLE_HREF = re.compile(
    "(?i:https?|mailto):(?:[A-Za-z0-9._~:/?#@!$'()*+,;=%-]|&amp;(?![A-Za-z0-9#]))*"
)
_FLOW_TAGS = frozenset({"p", "blockquote", "ul", "ol", "pre"})  # each closes an open <p>
_FORMATTING_TAGS = frozenset({"a", "em", "strong", "code"})
_LIST_TAGS = frozenset({"ul", "ol"})
_OWN_PIECES = {
    ("pre", 1): _PRE,
    ("pre", -1): _END_PRE,
    ("code", 1): _CODE,
    ("code", -1): _END_CODE,
    ("a", -1): _END_A,
}


def _clean_simple_html(html: str) -> str | None:
    """clean_html(html) for simple, well-formed HTML, without html5lib; None for other HTML."""
    if "\r" in html:  # as html5lib reads it
        html = html.replace("\r\n", "\n").replace("\r", "\n")
    pieces = _simple_pieces(html)
    if pieces is None:
        return None
    cleaned, dropped = _clean(pieces)
    if dropped:  # its text may make a URL with its neighbours': left to bleach
        return None
    return "".join(p.html if p.__class__ is _Tag else p for p in cleaned)


def _simple_text(text: str, unsimple: re.Pattern[str] = _NOT_SIMPLE_TEXT) -> bool:
    if unsimple.search(text):
        return False
    return "&" not in text or all(name in ENTITIES for name in _NAMED_ENTITY.findall(text))


def _simple_pieces(html: str) -> list[Any] | None:
    """The pieces of simple HTML as _clean takes them, or None if it is not simple."""
    out = _Pieces()
    opened: list[str] = []
    pos, size = 0, len(html)
    while pos < size:
        start = html.find("<", pos)
        if start < 0:
            start = size
        if start > pos:
            text = html[pos:start]
            if not _simple_text(text):
                return None
            if opened and opened[-1] in _LIST_TAGS and text.strip(" \t\n\x0c"):
                return None
            out.text(text)
            if start == size:
                break
        tag = _MARKUP_TAG.match(html, start)
        if tag is None:
            return None
        pos = tag.end()
        name, attributes, closed, end = tag.groups()
        if end:
            if not opened or opened.pop() != end:
                return None
            piece = _OWN_PIECES.get((end, -1))
            if piece:
                out.tag(piece)
            else:
                out.markup(f"</{end}>")
            continue
        if not _simple_start(name, attributes, closed, opened):
            return None
        if name == "a":
            attrs: dict[str, str] = {}
            for key, value in _TAG_ATTRIBUTE.findall(attributes):
                if key not in ALLOWED_ATTRIBUTES["a"] or key in attrs:
                    return None
                if not _simple_text(value, _NOT_SIMPLE_VALUE):
                    return None
                attrs[key] = value
            if "href" in attrs and not _SIMPLE_HREF.fullmatch(attrs["href"]):
                return None
            out.tag(_Tag("a", 1, "", attrs))
        elif (name, 1) in _OWN_PIECES:
            out.tag(_OWN_PIECES[(name, 1)])
        else:
            out.markup(f"<{name}>")
        if name == "pre" and html.startswith("\n", pos):  # html5lib drops that newline
            return None
        if name != "br":
            opened.append(name)
    return out.done() if not opened else None


def _simple_start(name: str, attributes: str, closed: str, opened: list[str]) -> bool:
    """Whether html5lib's tree building puts this start tag where it stands, as written."""
    if name not in ALLOWED_TAGS or (closed and name != "br") or (attributes and name != "a"):
        return False
    parent = opened[-1] if opened else None
    if (parent in _LIST_TAGS) != (name == "li"):  # lists hold items, items are in lists
        return False
    if name in _FLOW_TAGS:  # would close an open <p>, or sit in an inline element
        return not any(tag == "p" or tag in _FORMATTING_TAGS for tag in opened)
    return name not in _FORMATTING_TAGS or name not in opened
