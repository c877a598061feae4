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

render.py (the sanitising half: mutant ids as `mutmut results` names them, x_<function>__mutmut_N)
- _link_attributes 5, 7, 10: `attrs.get((None, "href"))` or `get(..., "XXXX")` for
  `get(..., "")`: an <a> without href gets None, which urlsplit reads as an empty (bytes) URL,
  or "XXXX": neither is absolute, so the link is dropped all the same. 1: its unused
  `new=False` changed: unused.
- _link_attributes 14, 17, 18: `attrs.pop((None, "target"))` changed: bleach's sanitizer has
  already dropped target (not in ALLOWED_ATTRIBUTES) before the linkifier calls back; the pop is
  a second guard (test_imported_html_is_stored_in_the_allowed_shape proves no target is kept).
- _clean 48, 50, 53: `attrs.get("href", None)`, `get("href")`, `get("href", "XXXX")`: as in
  _link_attributes, none is absolute. 4, 7, 85: `in_link = None`, `skip = ""` (at first or at
  a closing tag): as falsy as False and None, and no tag is named "".
- _clean 73, 74: "pre" spelled otherwise among the tags that stop linking: markdown-it writes
  <pre> only right before <code>, which stops it, and its text only inside that <code>.
- _clean 78, 79: the end of a skipped <pre>/<code> asked with `or` for one of its `and`s: the
  only tags reaching that test are <pre> and <code> (em, strong, p... are markup, never tags);
  outside a link a closing one of them ends what skip holds or finds skip None already, and
  inside a link skip is None, which no tag is named.
- _attribute 22-24: its '"' replacement changed: the values reaching it come from
  markdown-it's escapeHtml, which already wrote '"' as an entity, from a bare URL, or from the
  fast path's plain hrefs (_SIMPLE_HREF), and neither of those two holds one.
- _link 12, 21: `_Tag("a", None | 2, ...)` for nesting 1: only nesting == -1 (a closing tag)
  is ever asked of an <a>.
- _entity 3, 5, 6: `len(part) > 1` changed (always, >= 1, > 2): for a lone "&" match_entity
  finds nothing either, nor for "&" and one character (no entity name has one letter).
- _sanitised 12, 15: `start <= end` or always: when start == end the text is all spaces and
  the spliced text is the same.
- render_html: '<BR>' for '<br>': bleach writes tag names in lower case.
- render_source: its default format "markdown" spelled otherwise: only "html" is asked about.
- _escape 16-21: its "<" and ">" replacements changed: every text piece comes from
  markdown-it's escapeHtml and bleach's tokenizer keeps "&lt;" and "&gt;" as entities, which a
  dropped link's text leaves out, so no raw "<" or ">" ever reaches _escape (only "&" does).
- _linkify 17: URLs looked for in a text without ".": URL_RE needs one, so none is found
  (slower). 20: `match.start() >= end`: adds an empty text before a URL right at the start,
  which writes nothing.
- _url_matches 11, 33, 62: `cast(None, ...)`: cast only tells the type checker. 52: the
  search for a start not bounded by the run's end: a start found beyond it is refused by the
  next test (`first.start() < end`). 60: `if match:` for `if not match:`: a failed run no
  longer skips the rest of its dotted name, whose later runs fail too, one by one (slower);
  after a match pos moves to its end either way.
- _strip_non_url_bits 12: `start <= end` before looking for a ")" at the end: when start has
  just reached end, the character asked about is the "(" just stepped over, never a ")".

render.py, Markdown parsing (tests: test_stored_html_is_markdown_its_html_cleaned in
test_render.py, which holds render_comment to markdown-it's own HTML, cleaned)
- _inline 1, 2, 6, 7, 8: no terminator_re (stops None): every paragraph goes through the inline
  parser, which makes the same single text token (slower only).
- _inline 12, 13: the block parser gives every inline token `children = []`, never None.
- _inline 19, 27, 28 (the text token's type None, "XXtextXX", "TEXT"): _inline_pieces writes a
  token of any other type with content as text too. 20, 29 (tag), 21, 30 (nesting): never read.
- _parse_link_label 19: `cache.get(None, -1)` calls skipToken, which reads the same cache
  (slower only). 24, 25, 26 (-2 for -1, `<= 0`, `< 1`): cached positions are at least 1.
  41: `return -2`: its callers only ask whether the result is negative.
- _parse_link_destination 15, 50: the search not bounded by `maximum`: the link rule runs
  with a `maximum` short of the text's end only inside a link's text, where a link that the
  bounded search would make had already ended the outer label (checked on 20,000 texts).
- _parse_link_destination 37, 39, 41, 42: `pos += 2 or 1` after a "\\" that is the last
  character before `maximum`: either way the search starts at or past `maximum` and fails.
- _Destination.__init__ 2, 3 (pos 1, string "XXXX"): a failed destination's pos and str
  are never read.
- _html_pieces 49, 51 (`index - 1 < len`, `index + 1 <= len`): they differ only for an
  opening block token that is the last token, and every opening token has its closing one.
- _inline_pieces 1, 73 (`link_open = None`), 3 (`emphasis = None` until a link opens): as
  falsy as False; emphasis is only read while a link is open, which sets it to [].
- _inline_pieces 5, 47, 48, 49, 75, 76, 77: stray_link_ends changed: a link_close with no
  link open writes nothing, whatever the count (the counter only documents the case).
- _inline_pieces 7, 9, 10, 12, 13 (the text test spelled otherwise): the last branch writes
  any token with content as text, the same; text_join has already made text_special text.
- _inline_pieces 56, 65 (nesting None or 2), 57, 66 (html None or "XXXX") of an opening
  <a>: cleaning only asks whether an <a> closes (-1), and writes an opening one anew or drops it.
- _inline_pieces 83 (`link_open or emphasis`): emphasis is [] whenever no link is open,
  since emphasis inside a link's text is balanced there (markdown-it scopes its delimiters).
- _inline_pieces 85, 86: the last branch is unreachable with the rules enabled; it is a
  guard that would write an unknown token's content as text, never as markup.
- _newlines 2 (`"\\r" in html or True`): replacing in a text without "\\r" changes nothing.

render.py, the fast path for simple HTML (tests: test_sanitiser_fast_path.py, which holds
_clean_simple_html to bleach's own result)
- clean_html 3 (the fast path never taken): every HTML text goes to bleach, whose result the
  fast path gives by design; only slower.
- _simple_pieces 16 (`start >= pos`): adds an empty text before a tag that follows another,
  which writes nothing.
- _simple_pieces 83, 92 (nesting None or 2), 84, 93 (html None or "XXXX") of an opening <a>:
  as for _link 12, 21, cleaning only asks whether an <a> closes, and writes a kept one anew.
- _simple_pieces 25, 26 (text in a list stripped of all whitespace, or of "X" too), 50 and
  _simple_start 1 (attributes on any tag), 51 (`<p/>`, `<em/>`): the fast path takes some HTML
  it now leaves to bleach, and gives bleach's result for it: html5lib keeps text beside a
  list's items in the list, ignores "/" on a non-void tag, and bleach drops those attributes.
- _simple_text 4, 5 (named entities not looked up in ENTITIES): an unknown name ending in ";"
  ("&foo;", "&notit;", "&copyx;") is taken, and its "&" written "&amp;" as bleach writes it.
- _simple_pieces 74, 75 (the _SIMPLE_HREF check skipped): defence in depth. Without it an
  href reaches _clean's own link checks, the ones every Markdown link goes through, which give
  bleach's result; hrefs with spaces, entities, a zero-width space, a leading space, "\r",
  a newline, capitals and non-ASCII characters were tried and none differed. Sampled, not
  proved: the check stays so that the fast path takes only hrefs bleach keeps as written.

api/cors.py
- origin_allowed: `host_url.rstrip("XX/XX")` for `rstrip("/")` also strips a trailing capital
  X from the service's own host; host names are lower case in the Origin a browser sends, and
  an own origin ending in a capital X is refused at worst (fails closed).

validation.py
- _encodable: `encode("UTF-8")`, and _real_host: `encode("IDNA")`, `decode("ASCII")`: codec
  names are case-insensitive.
- _encodable returning True for a lone surrogate, and _has_control's "Cs" spelled otherwise:
  the two guards cover each other: a lone surrogate is refused by whichever is intact.
- _has_control: its unused default `allow=""`, and Checker.string's allowed characters with
  "XX" around them ("XX\n\r\tXX", "XXXX"): X is no control character, so nothing else is
  let through.
- validate_comment: `notify = data.get("notify")` or `get("notify", None)`: a missing notify
  becomes None, which the next line turns into False. `text or "XXXX"`: text is required, so
  an empty one has already raised ValidationFailed.
- _real_host: `rstrip("XX.XX")`: urlsplit gives the host in lower case, so there is no
  capital X to strip.
- _website: `"XX://XX" not in value`: a value with "://" that is not prefixed today has a
  colon before its first "/" and stays unprefixed under the mutant too; one with "://" only
  after a "/" ("example.com/?r=https://x") is refused today and accepted with the mutant,
  which would pin a refusal nobody wants (left as it is; a reader can type https:// first).
- clean_website: `not value.strip() and len(...) > MAX_WEBSITE` for `or`: a blank value fails
  in _website and a long one at the final length check. `_Checker(None)`: _website never reads
  the data. `check.errors and website is None or ...`: _website returns None exactly when it
  recorded an error, so the two tests are one.
- clean_email: `(value or "XXXX")`: "xxxx" is no e-mail address either.
"""

from __future__ import annotations

import logging
import time
from types import SimpleNamespace

import itsdangerous
import pytest
from sqlalchemy import select, update

from commentsvc import events, moderation, sites, spamfilter, tokens, validation
from commentsvc.api import cors
from commentsvc.config import settings_of
from commentsvc.errors import Forbidden, Refused, ValidationFailed
from commentsvc.extensions import db
from commentsvc.models import (
    AuditEntry,
    Ban,
    BanKind,
    BlockedWord,
    Comment,
    Moderator,
    Role,
    RuleAction,
    SpamLesson,
    Status,
    Thread,
    UsedToken,
)
from commentsvc.render import (
    LINK_BRACKETS,
    count_links,
    render_comment,
    render_html,
    render_source,
)
from commentsvc.rules import add_ban, block_word, lift_ban, unblock_word
from commentsvc.spamfilter import Verdict
from tests.support.admin import make_moderator
from tests.support.markdown import reference_html

from .conftest import unique_uri
from .settings_helpers import changed

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
    # A response that chose its own policy keeps it, alone (the thread page names no other
    # site): a second, general policy beside it would leave browsers to pick one.
    for path in ("/comments?uri=/a.html", "/demo"):
        assert client.get(path).headers.getlist("Referrer-Policy") == ["same-origin"]
    for path in ("/admin/login", "/admin/"):
        assert client.get(path).headers.getlist("Referrer-Policy") == ["same-origin"]


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


# render_comment against tests.support.markdown's reference_html: these texts take the paths
# where the two could part: entities in text, link text, dropped links, titles and URLs,
# invisible characters, code.
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


# --- validation.py ---------------------------------------------------------------------------

GOOD = {"uri": "/a.html", "text": "Hi"}
REQUIRED = "This field is required."
BAD_CHARS = "Contains characters that are not allowed."
BAD_WEBSITE = "Must be an http:// or https:// address, like https://example.com."


@pytest.fixture
def english(app):
    """A request context, for the reasons' translations."""
    with app.test_request_context():
        yield


def refusals(data, **options) -> dict[str, list[str]]:
    """The reasons validate_comment gives per field ({} when it accepts the data)."""
    try:
        validation.validate_comment({**GOOD, **data}, **{"max_text": 10, **options})
    except ValidationFailed as failed:
        return failed.fields
    return {}


def test_each_refused_field_says_why_in_the_readers_words(english):
    assert refusals({}) == {}
    assert refusals({"uri": None, "text": "  \n "}) == {"uri": [REQUIRED], "text": [REQUIRED]}
    assert refusals({"author": 7, "title": ["t"]}) == {
        "author": ["Must be a string."],
        "title": ["Must be a string."],
    }
    assert refusals({"text": "x" * 11}) == {"text": ["Must be at most 10 characters."]}
    assert refusals({"text": "x" * 2}, max_text=1) == {"text": ["Must be at most 1 character."]}
    assert refusals({"email": "ann"}) == {"email": ["Enter a valid e-mail address."]}
    assert refusals({"website": "a b.example"}) == {"website": ["Must not contain spaces."]}
    assert refusals({"website": "ftp://x.example"}) == {"website": [BAD_WEBSITE]}
    assert refusals({"parent_id": "3"}) == {
        "parent_id": ["Must be the id of a comment in this thread."]
    }
    assert refusals({"notify": "yes"}) == {"notify": ["Must be true or false."]}
    assert refusals({"uri": "a.html"}) == {
        "uri": ["Must be the page's path, starting with /, or an address on the blog's own site."]
    }


def test_every_reason_for_one_field_is_kept(english):
    checker = validation._Checker({})
    checker.fail("email", "first")
    checker.fail("email", "second")
    assert checker.errors == {"email": ["first", "second"]}


@pytest.mark.parametrize("field, limit", [("author", 80), ("title", 200), ("email", 254)])
def test_each_field_takes_up_to_its_limit_and_no_more(english, field, limit):
    def value(n: int) -> str:
        return "a@b.example"[:n] if n < 11 else "a" * (n - 10) + "@b.example"

    fit = value(limit) if field == "email" else "x" * limit
    long = value(limit + 1) if field == "email" else "x" * (limit + 1)
    assert refusals({field: fit}) == {}
    assert refusals({field: long}) == {field: [f"Must be at most {limit} characters."]}


@pytest.mark.parametrize("uri", ["/" + "a" * 499, "/" + "a" * 500])
def test_a_thread_uri_has_at_most_five_hundred_characters(english, uri):
    assert bool(refusals({"uri": uri})) == (len(uri) > 500)


def test_what_a_reader_wrote_is_kept_as_written_but_for_outer_blanks(english):
    entry = validation.validate_comment(
        {
            "uri": "/a.html",
            "text": "\t\n  line one\n\tline two  \r\n",
            "title": "  A title ",
            "author": "  Ann   Lee ",
            "email": " Ann@Example.ORG ",
            "website": "ann.example/blog",
            "parent_id": 2**62 - 1,
            "notify": None,
            "form_token": "1.ab.cd",
            "hp": "",
        },
        max_text=100,
    )
    assert entry == validation.CommentInput(
        uri="/a.html",
        text="line one\n\tline two",
        title="A title",
        parent_id=2**62 - 1,
        author="Ann Lee",
        email="ann@example.org",
        website="https://ann.example/blog",
        notify=False,
        form_token="1.ab.cd",
        honeypot="",
    )


@pytest.mark.parametrize(
    "honeypot, kept", [(None, None), ("", ""), ("x", "x"), (1, "filled"), (True, "filled")]
)
def test_a_filled_honeypot_is_kept_whatever_its_type(english, honeypot, kept):
    entry = validation.validate_comment({**GOOD, "hp": honeypot}, max_text=10)
    assert entry.honeypot == kept
    assert entry.form_token is None


@pytest.mark.parametrize("parent_id", [0, -1, 2**62, True, 1.0, "1"])
def test_a_parent_is_a_positive_number_below_two_to_the_sixty_second(english, parent_id):
    assert "parent_id" in refusals({"parent_id": parent_id})
    assert refusals({"parent_id": 1}) == {}


@pytest.mark.parametrize(
    "field, value, refused",
    [
        ("text", "line\nbreak\r\tand tab", False),
        ("author", "tab\there", True),
        ("author", "new\nline", True),
        ("text", "bell\x07", True),
        ("text", "null\x00", True),
        ("text", "\x7f", True),
        ("author", "surrogate \ud800", True),
        ("text", "lone \udfff", True),
        ("author", "emoji \U0001f600 and é", False),
    ],
)
def test_control_characters_and_lone_surrogates_are_refused(english, field, value, refused):
    assert refusals({field: value}, max_text=100) == ({field: [BAD_CHARS]} if refused else {})


def test_an_edit_needs_no_uri_but_still_its_text(english):
    assert validation.validate_comment({"text": "x"}, max_text=10, partial=True).uri == ""
    assert refusals({"uri": None, "text": None}, partial=True) == {"text": [REQUIRED]}


def test_invisible_characters_leave_no_name(english):
    assert validation.clean_name("\u200b\u3164 \u2800") is None
    assert validation.clean_name(None) is None
    assert validation.clean_name("A\u202en\u00adn") == "Ann"


@pytest.mark.parametrize(
    "url, origin",
    [
        ("HTTPS://Blog.Example/2008/post.html", "https://blog.example"),
        ("http://blog.example:8080/x", "http://blog.example:8080"),
        ("https://blog.example", "https://blog.example"),
        ("https://user@blog.example/", None),
        ("ftp://blog.example/", None),
        ("https:///path", None),
        ("https://blog.example:99999/", None),
        ("https://[::1", None),
    ],
)
def test_the_origin_of_a_thread_address(url, origin):
    assert validation.origin_of(url) == origin


@pytest.mark.parametrize(
    "value, kept",
    [
        ("ann.example", "https://ann.example"),
        ("ann.example/x:y", "https://ann.example/x:y"),
        ("ann.example:8080", None),  # read as a scheme "ann.example", like mailto:
        ("HTTP://ann.example/", "HTTP://ann.example/"),
        ("https://bücher.example/", "https://bücher.example/"),
        ("https://127.0.0.1/", "https://127.0.0.1/"),
        ("https://[2001:db8::1]:8443/", "https://[2001:db8::1]:8443/"),
        ("https://ann.example./", "https://ann.example./"),
        ("https://" + "a" * 63 + ".example/", "https://" + "a" * 63 + ".example/"),
        ("https://a-b.example/", "https://a-b.example/"),
        ("https://" + "a." * 125 + "ex", "https://" + "a." * 125 + "ex"),  # 252 characters
        ("mailto:ann@ann.example", None),
        ("javascript:alert(1)", None),
        ("https://localhost/", None),
        ("https://1.2.3.999/", None),
        ("https://" + "a" * 64 + ".example/", None),
        ("https://-a.example/", None),
        ("https://a-.example/", None),
        ("https://" + "a." * 126 + "ex", None),  # 254 characters
        ("https://ann@ann.example/", None),
        ("https://ann.example:99999/", None),
        ("https://ann.example/<x>", None),
        ('https://ann.example/"', None),
        ("https://ann.example/a|b", None),
        ("https://" + "ü" * 64 + ".example/", None),  # IDNA cannot encode it
        ("https://a..example/", None),
        ("https:///x", None),
        ("https://ann.example/ x", None),
        ("  ", None),
        (None, None),
    ],
)
def test_a_website_is_a_web_address_on_a_real_host(english, value, kept):
    assert validation.clean_website(value) == kept
    if value is not None and value.strip():
        assert refusals({"website": value}) == ({} if kept else refusals({"website": value}))
        if kept:
            assert (
                validation.validate_comment({**GOOD, "website": value}, max_text=10).website == kept
            )


def test_an_imported_website_is_at_most_five_hundred_characters_once_normalised(english):
    path = "ann.example/" + "p" * 480  # 492 characters; 500 with https://
    assert validation.clean_website(path) == "https://" + path
    assert validation.clean_website(path + "p") is None  # 501 once normalised
    assert validation.clean_website("https://" + path + "p") is None  # 501 as given
    assert validation.clean_website(f"  https://{path}  ") == "https://" + path


@pytest.mark.parametrize(
    "value, kept",
    [
        (" Ann@Example.ORG ", "ann@example.org"),
        ("a" * 244 + "@b.example", "a" * 244 + "@b.example"),  # 254 characters
        ("a" * 245 + "@b.example", None),
        ("ann@example", None),
        ("ann@@example.org", None),
        ("", None),
        (None, None),
    ],
)
def test_an_imported_email_is_kept_in_lower_case_when_valid(value, kept):
    assert validation.clean_email(value) == kept


@pytest.mark.parametrize(
    "uri, reason",
    [
        (None, "A thread uri of 1 to 500 characters is required."),
        ("", "A thread uri of 1 to 500 characters is required."),
        ("/" + "a" * 500, "A thread uri of 1 to 500 characters is required."),
        ("/" + "a" * 499, None),
        ("/", None),  # the blog's home page
        ("/a b", "Must not contain spaces or control characters."),
        ("/a\u3000b", "Must not contain spaces or control characters."),
        ("/a\xa0b", "Must not contain spaces or control characters."),
        ("/a\ud800", "Must not contain spaces or control characters."),
        ("/é/ü.html", None),
        (
            "//evil.example/x",
            "Must be the page's path, starting with /, or an address on the blog's own site.",
        ),
        (
            "/\\evil.example/x",
            "Must be the page's path, starting with /, or an address on the blog's own site.",
        ),
        ("https://Blog.Example/a.html", None),
        ("HTTPS://blog.example/a.html", None),
        (
            "https://blog.example.evil/a.html",
            "Must be the page's path, starting with /, or an address on the blog's own site.",
        ),
    ],
)
def test_a_thread_uri_names_a_page_of_the_blog_or_says_why_not(english, uri, reason):
    assert validation.uri_problem(uri, ["HTTPS://BLOG.EXAMPLE"]) == reason


# --- rules.py --------------------------------------------------------------------------------


def rule_rows(model) -> list[tuple]:
    """Every ban or blocked word as (site, kind or None, value or word, action)."""
    rows = db.session.execute(select(model).order_by(model.id)).scalars().all()
    return [
        (r.site, getattr(r, "kind", None), getattr(r, "value", None) or r.word, r.action)
        for r in rows
    ]


def audit_lines() -> list[tuple]:
    """The audit log, but for the line that made the second site."""
    rows = db.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()
    return [(a.moderator_id, a.actor, a.action, a.target, a.detail) for a in rows][1:]


@pytest.fixture
def docs_site(app):
    with app.app_context():
        sites.add(db.session, "docs", origins=["http://docs.test"], title="Docs")
        db.session.commit()
    return "docs"


def test_a_ban_is_kept_once_per_site_kind_and_value_and_banning_again_updates_it(app, docs_site):
    boss_id = make_moderator(app, "boss", Role.admin)
    with app.app_context():
        boss = db.session.get(Moderator, boss_id)
        first = add_ban(
            db.session, BanKind.email, " Troll@Example.COM ", RuleAction.hold, "rude", boss
        )
        again = add_ban(
            db.session, BanKind.email, "troll@example.com", RuleAction.refuse, None, "cli"
        )
        add_ban(db.session, BanKind.address, "troll@example.com", RuleAction.spam, None, "cli")
        add_ban(db.session, BanKind.email, "other@example.com", RuleAction.spam, None, "cli")
        docs = add_ban(
            db.session, BanKind.email, "troll@example.com", RuleAction.hold, "x", "cli", site="docs"
        )
        assert again is first and docs is not first
        assert (first.reason, first.action) == (None, RuleAction.refuse)
        assert rule_rows(Ban) == [
            ("default", BanKind.email, "troll@example.com", RuleAction.refuse),
            ("default", BanKind.address, "troll@example.com", RuleAction.spam),
            ("default", BanKind.email, "other@example.com", RuleAction.spam),
            ("docs", BanKind.email, "troll@example.com", RuleAction.hold),
        ]
        assert audit_lines() == [
            (boss.id, "boss", "ban", "email ban", "hold: rude"),
            (None, "cli", "ban", "email ban", "refuse: "),
            (None, "cli", "ban", "address ban", "spam: "),
            (None, "cli", "ban", "email ban", "spam: "),
            (None, "cli", "ban", "email ban", "hold: x (site docs)"),
        ]
        lift_ban(db.session, docs, boss)
        lift_ban(db.session, first, "cli")
        db.session.flush()
        assert [row[0] for row in rule_rows(Ban)] == ["default", "default"]
        assert audit_lines()[-2:] == [
            (boss.id, "boss", "unban", "email ban", "site docs"),
            (None, "cli", "unban", "email ban", None),
        ]


def test_a_word_is_blocked_once_per_site_and_blocking_it_again_changes_what_it_does(app, docs_site):
    with app.app_context():
        casino = block_word(db.session, " Casino ", RuleAction.hold, "cli")
        assert block_word(db.session, "CASINO", RuleAction.refuse, "cli") is casino
        block_word(db.session, "casino", RuleAction.spam, "cli", site="docs")
        block_word(db.session, "poker", RuleAction.spam, "cli")
        assert rule_rows(BlockedWord) == [
            ("default", None, "casino", RuleAction.refuse),
            ("docs", None, "casino", RuleAction.spam),
            ("default", None, "poker", RuleAction.spam),
        ]
        unblock_word(db.session, casino, "boss")
        db.session.flush()
        assert [row[2] for row in rule_rows(BlockedWord)] == ["casino", "poker"]
        assert audit_lines() == [
            (None, "cli", "blocklist", "word", "casino"),
            (None, "cli", "blocklist", "word", "casino"),
            (None, "cli", "blocklist", "word", "casino (site docs)"),
            (None, "cli", "blocklist", "word", "poker"),
            (None, "boss", "unblocklist", "word", "casino"),
        ]


# --- moderation.py ---------------------------------------------------------------------------


def decision(app, text="Hello", *, site=None, html=None, verdict=None, **extra):
    """decide_status for a comment with these fields, under these settings."""
    fields = {key: extra.pop(key, None) for key in ("author", "email")}
    remote_hash = extra.pop("remote_hash", "h")
    settings = changed(settings_of(app), **{"MODERATION": "none", **extra})
    if site:
        settings = settings.for_site(site, {})
    with app.app_context():
        return moderation.decide_status(
            db.session,
            settings,
            text=text,
            html=html or f"<p>{text}</p>",
            remote_hash=remote_hash,
            bot_signal=None,
            verdict=verdict,
            **fields,
        )


def add_rules(app, *rules) -> None:
    with app.app_context():
        db.session.add_all(rules)
        db.session.commit()


def test_the_spam_filter_and_the_link_limit_act_from_their_thresholds_on(app):
    def verdict(score: float) -> Verdict:
        return Verdict(score=score, clues=(), active=True)

    at = {"SPAM_FILTER_HOLD": 0.8, "SPAM_FILTER_SPAM": 0.95}
    assert decision(app, verdict=verdict(0.95), **at)[0] == Status.spam
    assert decision(app, verdict=verdict(0.8), **at) == (Status.pending, "spam filter: 0.80")
    assert decision(app, verdict=verdict(0.79), **at) == (Status.approved, None)
    one_link = '<p><a href="https://a.example">a</a></p>'
    assert decision(app, html=one_link, MAX_LINKS=1) == (Status.approved, None)


def test_each_policy_gives_its_reason_and_first_time_counts_the_site_s_own_comments(
    app, make_comment, docs_site
):
    assert decision(app, MODERATION="all") == (
        Status.pending,
        "every comment is reviewed (moderation: all)",
    )
    first = (Status.pending, "first comment from this author (moderation: first-time)")
    assert decision(app, MODERATION="first-time", email="new@example.com") == first
    assert decision(app, MODERATION="first-time") == first
    make_comment(unique_uri(), "approved here", email="known@example.com")
    known = {"MODERATION": "first-time", "email": "known@example.com"}
    assert decision(app, **known) == (Status.approved, None)
    assert decision(app, site="docs", **known) == first  # approved on another site only


def test_a_ban_on_the_email_applies_without_an_address_and_hold_means_pending(app):
    add_rules(
        app,
        Ban(kind=BanKind.email, value="troll@example.com", action=RuleAction.hold),
        Ban(kind=BanKind.address, value="bad-hash", action=RuleAction.spam),
    )
    assert decision(app, email="troll@example.com", remote_hash=None) == (
        Status.pending,
        "banned email",
    )
    assert decision(app, remote_hash="bad-hash") == (Status.spam, "banned address")
    assert decision(app, email=None, remote_hash=None) == (Status.approved, None)


def test_an_email_ban_kept_after_an_erasure_still_matches_that_address(app):
    # What an erasure keeps of a banned address, in databases that already hold such bans:
    # "erased:" and the keyed hash of "email ban:" and the address in lower case. The recipe
    # is written out here, not taken from the code: changing it would unban those addresses.
    settings = settings_of(app)
    kept = "erased:" + tokens.keyed_hash(settings.secret_key, "email ban:troll@example.com")
    add_rules(app, Ban(kind=BanKind.email, value=kept, action=RuleAction.spam))
    with app.app_context():
        for email in ("troll@example.com", " Troll@Example.COM "):
            rules = moderation.read_rules(db.session, settings, email, None)
            assert rules.ban == (BanKind.email, RuleAction.spam)
        assert moderation.read_rules(db.session, settings, "other@example.com", None).ban is None
        assert moderation.read_rules(db.session, settings, None, None).ban is None
    assert decision(app, email="troll@example.com") == (Status.spam, "banned email")


def test_the_rules_carry_the_spam_filters_lesson_counts(app):
    settings = settings_of(app)
    with app.app_context():
        assert moderation.read_rules(db.session, settings, None, None).lessons == (0, 0)
        spamfilter.train(
            db.session,
            [("cheap pills here", spamfilter.SPAM, None)] * 2
            + [("a kind word", spamfilter.HAM, None)] * 3,
        )
        db.session.flush()
        assert moderation.read_rules(db.session, settings, None, None).lessons == (2, 3)


def test_a_blocked_word_in_the_name_alone_is_found_and_refusals_win(app, english):
    add_rules(
        app,
        BlockedWord(word="casino", action=RuleAction.hold),
        BlockedWord(word="night", action=RuleAction.refuse),
    )
    assert decision(app, "hi", author="Casino") == (Status.pending, "blocklisted word: casino")
    with pytest.raises(Refused) as refused:
        decision(app, "casino night")
    assert str(refused.value) == "This comment cannot be accepted."


def test_what_each_moderator_action_teaches_the_spam_filter():
    lesson = moderation._lesson
    assert lesson("approve", Status.spam) == spamfilter.HAM
    assert lesson("spam", Status.approved) == spamfilter.SPAM
    assert lesson("restore", Status.spam) is None
    assert lesson("restore", Status.deleted) is False
    assert lesson("delete", Status.spam) is False


@pytest.mark.parametrize(
    "status, reason, acted",
    [
        (Status.spam, "spam filter: 0.99", "spam"),
        (Status.pending, "spam filter: 0.90 (link to x.example)", "held"),
        (Status.pending, "banned email", None),
        (Status.spam, None, None),
    ],
)
def test_the_queue_names_what_the_spam_filter_did(status, reason, acted):
    assert moderation.filter_action(status, reason) == acted


def lessons(comment_id: int) -> list[str]:
    rows = db.session.execute(select(SpamLesson).where(SpamLesson.comment_id == comment_id))
    return [lesson.label for lesson in rows.scalars()]


def test_a_moderator_action_is_logged_taught_and_announced_once(app, make_comment):
    comment_id = make_comment(unique_uri(), "held", email="new@example.com")["id"]
    settings = changed(settings_of(app), SPAM_FILTER="on")
    heard = []

    def listen(sender, **extra):
        heard.append((sender, extra["settings"], extra["comment"].id))

    with app.app_context(), events.comment_approved.connected_to(listen):
        comment = db.session.get(Comment, comment_id)
        comment.status = Status.pending
        assert moderation.moderate(db.session, settings, comment, "approve", "mo") is True
        assert heard == [(db.session, settings, comment_id)]
        assert lessons(comment_id) == [spamfilter.HAM]
        assert moderation.moderate(db.session, settings, comment, "approve", "mo") is False
        assert moderation.moderate(db.session, settings, comment, "spam", "mo") is True
        assert lessons(comment_id) == [spamfilter.SPAM]
        assert moderation.moderate(db.session, settings, comment, "restore", "mo") is True
        assert lessons(comment_id) == []
        assert moderation.moderate(db.session, settings, comment, "delete", "mo") is True
        assert lessons(comment_id) == []  # a deletion teaches nothing
        assert len(heard) == 2
        lines = db.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
        assert [(a.actor, a.action, a.target, a.detail) for a in lines] == [
            ("mo", "approve", f"comment {comment_id}", "pending -> approved"),
            ("mo", "spam", f"comment {comment_id}", "approved -> spam"),
            ("mo", "restore", f"comment {comment_id}", "spam -> approved"),
            ("mo", "delete", f"comment {comment_id}", "approved -> deleted"),
        ]


def test_a_bulk_action_on_a_comment_of_another_site_changes_nothing(app, make_comment, docs_site):
    ours = [make_comment(unique_uri(), f"c{n}")["id"] for n in range(2)]
    theirs = make_comment("/docs.html", "docs")["id"]
    both = [*ours, theirs]
    settings = settings_of(app)
    mo_id = make_moderator(app, "mo2")
    with app.app_context():
        db.session.execute(update(Thread).where(Thread.uri == "/docs.html").values(site="docs"))
        mo = db.session.get(Moderator, mo_id)
        with pytest.raises(Forbidden, match=r"^Your role does not allow this\.$"):
            moderation.moderate_many(db.session, settings, both, "spam", mo, ["default"])
        assert [db.session.get(Comment, i).status for i in both] == [Status.approved] * 3
        assert moderation.moderate_many(db.session, settings, ours, "spam", mo, ["default"]) == 2
        assert moderation.moderate_many(db.session, settings, both, "spam", mo, None) == 1
        assert [db.session.get(Comment, i).status for i in both] == [Status.spam] * 3


def test_closing_and_renaming_a_thread_is_logged_only_when_it_changes(app, make_comment):
    make_comment("/t.html", "x")
    with app.app_context():
        thread = db.session.execute(select(Thread).where(Thread.uri == "/t.html")).scalar_one()
        thread.title = "Old"
        for closed in (True, True, False, False):
            moderation.set_thread_closed(db.session, thread, closed, "mo")
            assert thread.closed is closed
        for title in ("New", "New", None):
            moderation.rename_thread(db.session, thread, title, "mo")
            assert thread.title == title
        db.session.flush()
        lines = db.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
        target = f"thread {thread.id}"
        assert [(a.actor, a.action, a.target, a.detail) for a in lines] == [
            ("mo", "close", target, None),
            ("mo", "reopen", target, None),
            ("mo", "rename", target, "'Old' -> 'New'"),
            ("mo", "rename", target, "'New' -> None"),
        ]


def test_outer_blanks_are_trimmed_as_each_field_needs(english):
    entry = validation.validate_comment(
        {
            "uri": "https://blog.example/a.html",
            "text": "\u3000Xylophone X\n",
            "title": "\u3000Title\u3000",
            "form_token": 5,
        },
        max_text=100,
        origins=["https://blog.example"],
    )
    # A text keeps what is not an ASCII blank (an ideographic indent); a one-line field
    # drops every blank around it.
    assert (entry.uri, entry.text, entry.title) == (
        "https://blog.example/a.html",
        "\u3000Xylophone X",
        "Title",
    )
    assert entry.notify is False and entry.form_token is None


@pytest.mark.parametrize(
    "value, kept",
    [
        ("https://" + "a." * 125 + "exa", "https://" + "a." * 125 + "exa"),  # 253 characters
        ("https://a.b.123/", None),  # a numeric top-level label is no host name
        ("https://a.123.example/", "https://a.123.example/"),
    ],
)
def test_a_host_name_is_judged_by_its_length_and_last_label(english, value, kept):
    assert validation.clean_website(value) == kept
