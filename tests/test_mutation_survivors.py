"""Tests written for the mutants `make mutmut` found alive in the modules that guard readers
and moderators (render, tokens, validation, moderation, security, CORS).

Mutants left alive on purpose, and why they change nothing a reader or moderator can observe:

tokens.py
- form_token_id: `token.split(".")[1]` and `token.rsplit(".", 2)[1]` for `split(".", 2)[1]`:
  a form token reaches form_token_id only after form_token_problem matched it against
  `digits.hex16.hex32`, which has exactly two dots, so all three pick the same nonce.
- issue_action_token: `secrets.token_hex(17)` or `token_hex(None)` (32 bytes) for 16 bytes of
  nonce: still unguessable, still within the 64 characters action_token_grant accepts and
  used_tokens.id stores (asserted below), so the link works and works once.
- form_token_id: `split(".", 3)[1]` (same nonce, for the same reason), and `split(".", 2)[2]`,
  which remembers a used token by its signature instead of its nonce: both are unique to the
  token and fit used_tokens.id, so a token still works exactly once.
- keyed_hash: `encode("UTF-8", ...)`: codec names are case-insensitive.

render.py
- _link_attributes: `attrs.get((None, "href"))` or `get(..., "XXXX")` for `get(..., "")`: an
  <a> without href gets None, which urlsplit reads as an empty (bytes) URL, or "XXXX": neither
  is absolute, so the link is dropped all the same. Its unused `new=False` changed: unused.
- _link_attributes: `attrs.pop((None, "target"))` changed: bleach's sanitizer has already
  dropped target (not in ALLOWED_ATTRIBUTES) before the linkifier calls back; the pop is a
  second guard (test_imported_html_is_stored_in_the_allowed_shape proves no target is kept).
- _clean: `attrs.get("href", None)`, `get("href")`, `get("href", "XXXX")`: as in
  _link_attributes, none is absolute. `in_link = None`, `skip = ""`: as falsy as False and
  None. `dropped = True` at first: a second pass over clean pieces changes nothing (slower).
- _attribute: its '"' and "<" replacements changed: the values reaching it come from
  markdown-it's escapeHtml, which already wrote those two as entities.
- _link: `_Tag("a", None | 2, ...)` for nesting 1: only nesting == -1 (a closing tag) is ever
  asked of an <a>.
- _entity: `len(part) > 1` changed: for a lone "&" match_entity finds nothing either.
- _sanitised: `start <= end` or always: when start == end the text is all spaces and the
  spliced text is the same.
- render_html: '<BR>' for '<br>': bleach writes tag names in lower case.
- render_source: its default format "markdown" spelled otherwise: only "html" is asked about.
- _escape: its "<" and ">" replacements changed: every text piece comes from markdown-it's
  escapeHtml and bleach's tokenizer keeps "&lt;" and "&gt;" as entities, which a dropped link's
  text leaves out, so no raw "<" or ">" ever reaches _escape (only "&" does).

security.py
- add_security_headers: every header name written in another case ("x-frame-options",
  "CONTENT-SECURITY-POLICY", ...): HTTP header names are case-insensitive, and so are
  werkzeug's Headers, so the same header is set.

api/cors.py
- origin_allowed: `host_url.rstrip("XX/XX")` for `rstrip("/")` also strips a trailing capital
  X from the service's own host; host names are lower case in the Origin a browser sends, and
  an own origin ending in a capital X is refused at worst (fails closed).
"""

from __future__ import annotations

import logging
import time
from types import SimpleNamespace

import itsdangerous
import pytest
from markdown_it import MarkdownIt

from commentsvc import tokens
from commentsvc.api import cors
from commentsvc.models import UsedToken
from commentsvc.render import (
    LINK_BRACKETS,
    clean_html,
    count_links,
    render_comment,
    render_html,
    render_source,
)

SECRET = "mutation-survivors-secret-" + "k" * 32


def signed(salt: str, payload) -> str:
    """A genuine token (our key, the right salt) carrying any payload at all."""
    return itsdangerous.URLSafeTimedSerializer(SECRET, salt=salt).dumps(payload)


@pytest.fixture
def later(monkeypatch):
    """Move itsdangerous' clock `seconds` ahead (tokens carry the time they were signed)."""

    def shift(seconds: float) -> None:
        now = time.time() + seconds
        monkeypatch.setattr("itsdangerous.timed.time.time", lambda: now)

    return shift


# --- tokens.py -------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", [[7], "7", {"c": "7"}, {"c": True}, {"c": 7.0}, {}])
def test_a_genuine_edit_token_must_still_name_one_comment_by_number(payload):
    with pytest.raises(tokens.InvalidToken):
        tokens.edit_token_comment(SECRET, signed(tokens.EDIT_SALT, payload), 900)
    assert tokens.edit_token_comment(SECRET, signed(tokens.EDIT_SALT, {"c": 7}), 900) == 7


def test_a_reader_is_shown_at_most_fifty_of_their_own_comments():
    held = [tokens.issue_edit_token(SECRET, n) for n in range(1, 52)]
    assert tokens.own_comment_ids(SECRET, held) == set(range(1, 51))


def test_a_reader_sees_their_held_comment_for_thirty_days(later):
    token = tokens.issue_edit_token(SECRET, 7)
    later(tokens.OWN_PENDING_MAX_AGE - 60)
    assert tokens.own_comment_ids(SECRET, [token]) == {7}
    later(tokens.OWN_PENDING_MAX_AGE + 60)
    assert tokens.own_comment_ids(SECRET, [token]) == set()


def test_an_unknown_mail_action_is_a_programming_error_that_names_it():
    with pytest.raises(ValueError, match="not a mail action: publish"):
        tokens.issue_action_token(SECRET, 7, "publish", "mo@example.com")


def test_an_action_token_id_fits_where_used_tokens_are_kept():
    grant = tokens.action_token_grant(
        SECRET, tokens.issue_action_token(SECRET, 7, "approve", "mo@example.com"), 60
    )
    assert 0 < len(grant.token_id) <= UsedToken.__table__.c.id.type.length


GOOD_ACTION = {"c": 7, "a": "spam", "r": "mo@example.com", "n": "n" * 32}


@pytest.mark.parametrize(
    "change",
    [
        {"c": 0},
        {"c": -7},
        {"c": True},
        {"c": "7"},
        {"a": "publish"},
        {"a": None},
        {"r": None},
        {"r": ["mo@example.com"]},
        {"n": ""},
        {"n": "n" * 65},
        {"n": 12345},
    ],
)
def test_a_genuine_action_token_with_a_bad_field_grants_nothing(change):
    with pytest.raises(tokens.InvalidToken):
        tokens.action_token_grant(
            SECRET, signed(tokens.MAIL_ACTION_SALT, {**GOOD_ACTION, **change}), 60
        )


@pytest.mark.parametrize("token_id", ["n", "n" * 64])
def test_action_token_ids_of_one_to_sixty_four_characters_are_accepted(token_id):
    grant = tokens.action_token_grant(
        SECRET, signed(tokens.MAIL_ACTION_SALT, {**GOOD_ACTION, "n": token_id}), 60
    )
    assert (grant.comment_id, grant.action, grant.recipient, grant.token_id) == (
        7,
        "spam",
        "mo@example.com",
        token_id,
    )


def test_an_action_token_that_is_not_an_object_grants_nothing():
    with pytest.raises(tokens.InvalidToken):
        tokens.action_token_grant(SECRET, signed(tokens.MAIL_ACTION_SALT, [7, "spam"]), 60)


@pytest.mark.parametrize("payload", [[3], {"s": 0}, {"s": -3}, {"s": True}, {"s": "3"}, {}])
@pytest.mark.parametrize(
    "salt, read",
    [
        (tokens.CONFIRM_SALT, tokens.confirm_token_subscription),
        (tokens.UNSUBSCRIBE_SALT, tokens.unsubscribe_token_subscription),
    ],
)
def test_subscription_links_must_name_one_subscription_by_number(payload, salt, read):
    with pytest.raises(tokens.InvalidToken):
        read(SECRET, signed(salt, payload))
    assert read(SECRET, signed(salt, {"s": 3})) == 3


def test_an_opt_in_link_works_for_thirty_days_and_unsubscribing_for_ever(later):
    confirm = tokens.issue_confirm_token(SECRET, 3)
    unsubscribe = tokens.issue_unsubscribe_token(SECRET, 3)
    later(tokens.CONFIRM_MAX_AGE - 60)
    assert tokens.confirm_token_subscription(SECRET, confirm) == 3
    later(tokens.CONFIRM_MAX_AGE + 60)
    with pytest.raises(tokens.ExpiredToken):
        tokens.confirm_token_subscription(SECRET, confirm)
    later(10 * 365 * 86400)
    assert tokens.unsubscribe_token_subscription(SECRET, unsubscribe) == 3


FORM = {"site": "default", "uri": "/post.html", "min_age": 3, "max_age": 86400}


@pytest.fixture
def clock(monkeypatch):
    """The tokens module's clock, set by the test (form tokens carry whole seconds)."""
    now = SimpleNamespace(value=1_800_000_000.0)
    monkeypatch.setattr(tokens, "time", SimpleNamespace(time=lambda: now.value))
    return now


@pytest.mark.parametrize("token", [None, "", 123, ["1.2.3"]])
def test_a_missing_form_token_is_called_missing(token):
    assert tokens.form_token_problem(SECRET, token, **FORM) == "form token missing"


def test_each_form_token_problem_is_named_for_the_moderators(clock):
    token = tokens.issue_form_token(SECRET, "default", "/post.html")
    other_thread = tokens.issue_form_token(SECRET, "default", "/other.html")
    assert tokens.form_token_problem(SECRET, other_thread, **FORM) == (
        "form token forged or for another thread"
    )
    assert tokens.form_token_problem(SECRET, token, **FORM) == "posted too fast"
    clock.value += FORM["min_age"]  # exactly the shortest time a person takes: a person
    assert tokens.form_token_problem(SECRET, token, **FORM) is None
    clock.value += FORM["max_age"] - FORM["min_age"]  # exactly as old as allowed: still good
    assert tokens.form_token_problem(SECRET, token, **FORM) is None
    clock.value += 1
    assert tokens.form_token_problem(SECRET, token, **FORM) == "form token too old"


def test_keyed_hash_takes_any_string_a_json_body_can_carry():
    # JSON escapes can make lone surrogates; a digest of them must not raise.
    lone = [tokens.keyed_hash(SECRET, value) for value in ("\ud800", "\udfff", "x")]
    assert len(set(lone)) == 3 and all(len(digest) == 32 for digest in lone)


# --- render.py: comments imported as HTML ----------------------------------------------------


@pytest.mark.parametrize(
    "source, stored",
    [
        # Blogger's <B> and <I>, in any case and with attributes, become the allowed equivalents.
        ("<B>bold</B> and <i>it</i>", "<p><strong>bold</strong> and <em>it</em></p>"),
        ("<b class=x>b</b><I>i</I>", "<p><strong>b</strong><em>i</em></p>"),
        ("<bold>no</bold> <bx>", "<p>no </p>"),  # only the tags themselves
        # Without paragraphs of its own, blank lines make paragraphs and newlines line breaks.
        (
            "  first line\nsecond\n\n  next para  \n\n\n",
            "<p>first line<br>second</p><p>next para</p>",
        ),
        ("text\n", "<p>text</p>"),
        # With its own paragraphs or breaks, the HTML keeps its shape.
        ("<p>own</p>\n\n<p>kept</p>", "<p>own</p>\n\n<p>kept</p>"),
        ("a <br> b", "a <br> b"),
        ("<div>d</div>", "d"),
        # And it goes through the one sanitiser.
        (
            '<script>x</script><a href="javascript:x">y</a> <img src=x onerror=y> '
            '<a href="https://e.org/" target=_blank>e</a>',
            '<p>xy  <a href="https://e.org/" rel="nofollow ugc noopener">e</a></p>',
        ),
    ],
)
def test_imported_html_is_stored_in_the_allowed_shape(source, stored):
    assert render_html(source) == stored
    assert render_source(source, "html") == stored


def test_render_source_reads_markdown_unless_told_the_text_is_html():
    assert render_source("**x** <b>y</b>") == "<p><strong>x</strong> &lt;b&gt;y&lt;/b&gt;</p>"
    assert render_source("**x** <b>y</b>", "markdown") == render_source("**x** <b>y</b>")
    assert render_source("**x** <b>y</b>", "html") == "<p>**x** <strong>y</strong></p>"


# --- security.py and api/cors.py -------------------------------------------------------------


def test_responses_tell_other_sites_only_our_origin_and_our_pages_say_more(client):
    for path in ("/api/threads?uri=/a.html", "/embed.js", "/healthz"):
        assert client.get(path).headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    # A response that chose its own policy keeps it (the thread page names no other site).
    for path in ("/comments?uri=/a.html", "/demo"):
        assert client.get(path).headers["Referrer-Policy"] == "same-origin"
    for path in ("/admin/login", "/admin/"):
        assert client.get(path).headers["Referrer-Policy"] == "same-origin"


def test_the_origin_the_service_is_reached_at_may_write_though_not_configured(client):
    # Reached at its own address (not PUBLIC_URL, not an allowed origin): its own pages post.
    own = "http://127.0.0.1:8080"
    response = client.post(
        "/api/preview", json={"text": "x"}, base_url=own, headers={"Origin": own}
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == own
    other = client.post(
        "/api/preview",
        json={"text": "x"},
        base_url=own,
        headers={"Origin": "http://127.0.0.1:8081"},
    )
    assert other.status_code == 403


def test_a_refused_origin_is_logged_once_and_at_most_a_thousand_of_them(
    client, monkeypatch, caplog
):
    monkeypatch.setattr(cors, "_warned", set())
    caplog.set_level(logging.WARNING, logger="commentsvc")
    long_origin = "http://" + "x" * 300 + ".test"
    for origin in [long_origin, long_origin] + [f"http://o{n}.test" for n in range(1000)]:
        client.get("/api/threads?uri=/a.html", headers={"Origin": origin})
    warned = [r.getMessage() for r in caplog.records if "refused a browser request" in r.message]
    assert len(warned) == cors.WARNED_MAX  # the long one once, then 999 more, then silence
    assert repr(long_origin[:200]) in warned[0]
    assert "http://o998.test" in warned[-1]


# --- render.py: the fast renderer against the reference pipeline -----------------------------

# What render_comment stands for: markdown-it's own HTML, through bleach's clean_html until it
# no longer changes. render_comment makes it from the parser's tokens, much faster; these texts
# take the paths where the two could part: entities in text, link text, dropped links, titles
# and URLs, invisible characters, code.
_REFERENCE = MarkdownIt("commonmark", {"html": False}).disable(
    ["image", "heading", "lheading", "hr", "html_block", "html_inline"]
)


def reference_html(text: str) -> str:
    html = clean_html(_REFERENCE.render(text))
    while (again := clean_html(html)) != html:
        html = again
    return html.strip()


@pytest.mark.parametrize(
    "text",
    [
        '[x](https://e.org/?a=1&b=2 "t\\"it<le&amp;")',
        '[x](<https://e.org/a"b<c>)',
        "<https://e.org/?q=&lt;&amp;&quot;>",
        "a & b &amp; c &amp;amp;lt; &copy; &#169; &notanentity; &",
        "[link &amp; text &copy; &amp;amp;lt; &](https://e.org/)",
        "[dropped &amp;amp; &copy; &lt; text &](javascript:alert(1))",
        "tab\x0bvertical and \x0c form feed, bell\x07 mixed & here &amp;\x07",
        "`code & <b> \x07 &amp; &copy;`",
        "    indented & code \x07\n",
        "https://a.com and https://b.org/x?y=1&z=2",
        "&amp &ampx &#x6A; &#106 & lone &&amp;",
        "\x0b&amp;\x0b",
        "\x07",
        "&",
        "&&",
        "&#",
        "a &b",
        "&amp;copy;",
        "[&](https://e.org/)",
        "[&a](https://e.org/)",
        '[a](https://e.org/ "title with \\"quotes\\" & <angle> &amp; &copy; &bogus;")',
        '[a](mailto:a@example.com "&")',
        "x <a@example.com> y",
        "[a]( https://e.org/?&copy=1&amp=2 )",
        "[\x07 bell](https://e.org/) and [\x07](ftp://x)",
        # Links markdown-it makes and the allowlist drops, keeping their text.
        "[a &amp; b &copy; &amp;amp; &lt; &#169; &bogus; & c](/relative)",
        "[x &amp;amp;lt;](ftp://e.org/)",
        "[&](/r)",
        "[&amp;](/r)",
        "[a&b](/r)",
        "[&copy;x](/r)",
        "[`a & b`](https://e.org/)",
        "[`x & y`](/rel)",
        "[*em* &amp; **b**](/rel)",
        "```\nhttps://a.com &amp; <x>\n```",
        "- [x](/r) https://b.org\n- > https://c.net",
        "0.A[L]()",
        "[https://e.org](/rel)",
        "[e.org](/rel) x",
        "[a](/r)[b](/s)",
        "[see https://a.com &amp; more](/rel) and https://b.org",
        "[\x07&amp;\x07](/rel)",
        "[ < > ](/rel)",
        "[&lt;&gt;](/rel)",
        # Text after code and pre is linked again; text inside them never.
        "`https://a.com` then https://b.org",
        "```\nhttps://a.com\n```\n\nhttps://b.org",
        "[`https://a.com`](/rel) https://b.org",
    ],
)
def test_the_fast_renderer_writes_what_the_reference_pipeline_writes(text):
    assert render_comment(text) == reference_html(text)


def test_links_are_counted_in_the_stored_html():
    html = render_comment(
        "[one](https://a.com), https://b.org and <mailto:c@example.com> "
        "but not [this](javascript:x) nor `https://d.net`"
    )
    assert count_links(html) == 3
    assert count_links(render_html('<A HREF="https://a.com">x</A> <a>y</a>')) == 1


def test_a_flood_of_brackets_is_read_as_text_from_the_thousandth_on():
    def rendered(brackets: int) -> str:
        return render_comment("[x](https://e.org/) " + "[" * (brackets - 1))

    linked = '<a href="https://e.org/" rel="nofollow ugc noopener">'
    assert rendered(LINK_BRACKETS - 1).startswith(f"<p>{linked}x</a> [[")
    assert rendered(LINK_BRACKETS).startswith(f"<p>[x]({linked}https://e.org/</a>) [[")
