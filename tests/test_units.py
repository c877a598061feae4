"""Direct tests of the domain's pieces, beside the HTTP tests that cover them end to end: the
thread tree builder, the moderation decision, validation and tokens."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commentsvc import tokens
from commentsvc.config import settings_of
from commentsvc.errors import Refused, ValidationFailed
from commentsvc.extensions import db
from commentsvc.models import Ban, BanKind, BlockedWord, Comment, RuleAction, Status, Thread, utcnow
from commentsvc.moderation import decide_status
from commentsvc.spamfilter import Verdict
from commentsvc.threads import MAX_DEPTH, _flatten_deep, thread_tree
from commentsvc.validation import MAX_URI, uri_problem, uri_problems, validate_comment

from .conftest import SECRET, unique_uri
from .settings_helpers import changed

# --- tokens --------------------------------------------------------------------------------------


def test_a_form_token_is_good_for_its_own_thread_only_and_only_in_its_time():
    token = tokens.issue_form_token(SECRET, "default", "/a.html")
    check = dict(site="default", uri="/a.html", min_age=0, max_age=60)
    assert tokens.form_token_problem(SECRET, token, **check) is None
    assert (
        tokens.form_token_problem(SECRET, token, **{**check, "uri": "/b.html"})
        == "form token forged or for another thread"
    )
    assert (
        tokens.form_token_problem(SECRET, token, **{**check, "site": "docs"})
        == "form token forged or for another thread"
    )
    assert (
        tokens.form_token_problem("another-secret-" + "y" * 32, token, **check)
        == "form token forged or for another thread"
    )
    assert tokens.form_token_problem(SECRET, token, **{**check, "min_age": 30}) == "posted too fast"
    issued, nonce, _ = token.split(".")
    old = int(time.time()) - 120
    aged = f"{old}.{nonce}.{tokens._form_mac(SECRET, old, nonce, 'default', '/a.html')}"
    assert tokens.form_token_problem(SECRET, aged, **check) == "form token too old"
    assert tokens.form_token_problem(SECRET, None, **check) == "form token missing"
    assert tokens.form_token_id(token) == tokens.FORM_TOKEN_PREFIX + nonce


def test_an_edit_token_names_its_comment_and_nothing_else():
    token = tokens.issue_edit_token(SECRET, 42)
    assert tokens.edit_token_comment(SECRET, token, 60) == 42
    with pytest.raises(tokens.InvalidToken):
        tokens.edit_token_comment(SECRET, token[:-2] + "xx", 60)
    with pytest.raises(tokens.InvalidToken):
        tokens.edit_token_comment("another-secret-" + "y" * 32, token, 60)
    assert tokens.own_comment_ids(SECRET, [token, "junk", tokens.issue_edit_token(SECRET, 7)]) == {
        42,
        7,
    }


def test_a_mail_action_token_grants_one_action_on_one_comment_to_one_recipient():
    token = tokens.issue_action_token(SECRET, 5, "approve", "mo@example.com")
    grant = tokens.action_token_grant(SECRET, token, 60)
    assert (grant.comment_id, grant.action, grant.recipient) == (5, "approve", "mo@example.com")
    assert tokens.issue_action_token(SECRET, 5, "approve", "mo@example.com") != token  # once
    with pytest.raises(ValueError):
        tokens.issue_action_token(SECRET, 5, "ban", "mo@example.com")


# --- validation ----------------------------------------------------------------------------------


def test_validation_cleans_what_it_keeps_and_names_every_field_it_refuses(app):
    with app.test_request_context():
        entry = validate_comment(
            {
                "uri": "/a.html",
                "text": "Hi",
                "author": "A\u200bnn",
                "email": "Ann@Example.COM",
                "website": "https://ann.example",
                "notify": True,
            },
            max_text=100,
        )
        assert (entry.author, entry.email, entry.website, entry.notify) == (
            "Ann",
            "ann@example.com",
            "https://ann.example",
            True,
        )
        with pytest.raises(ValidationFailed) as refused:
            validate_comment(
                {
                    "uri": "javascript:alert(1)",
                    "text": "x" * 101,
                    "email": "not-mail",
                    "website": "ftp://x.example",
                    "parent_id": True,
                    "notify": "yes",
                },
                max_text=100,
            )
        assert set(refused.value.fields) == {
            "uri",
            "text",
            "email",
            "website",
            "parent_id",
            "notify",
        }
        edit = validate_comment({"text": "changed"}, max_text=100, partial=True)
        assert (edit.uri, edit.text) == ("", "changed")


def test_a_thread_uri_is_a_path_or_an_address_on_an_allowed_origin(app):
    with app.test_request_context():
        assert uri_problem("/2008/01/persistence-pays-off.html") is None
        assert uri_problem("https://blog.example/a.html", ["https://blog.example"]) is None
        for bad in (
            "https://elsewhere.example/a.html",
            "a.html",
            "//evil.example/x",
            "",
            "/a\nb",
            42,
        ):
            assert uri_problem(bad, ["https://blog.example"]) is not None, bad


# --- the moderation decision ---------------------------------------------------------------------


def decide(app, text="Hello", *, policy="none", email=None, verdict=None, html=None, **extra):
    settings = changed(settings_of(app), MODERATION=policy, **extra)
    with app.app_context():
        return decide_status(
            db.session,
            settings,
            text=text,
            html=html or f"<p>{text}</p>",
            email=email,
            remote_hash="hash",
            bot_signal=None,
            verdict=verdict,
        )


def test_the_policy_decides_when_no_rule_does(app, make_comment):
    assert decide(app, policy="none") == (Status.approved, None)
    assert decide(app, policy="all")[0] == Status.pending
    assert decide(app, policy="first-time", email="new@example.com")[0] == Status.pending
    make_comment(unique_uri(), "approved before", email="known@example.com")  # policy none
    assert decide(app, policy="first-time", email="known@example.com") == (Status.approved, None)


def test_rules_come_before_the_policy_in_their_order(app):
    two_links = '<p><a href="https://a.example">a</a> <a href="https://b.example">b</a></p>'
    assert decide(app, html=two_links, MAX_LINKS=1) == (Status.pending, "2 links (more than 1)")
    active = Verdict(score=0.95, clues=("w:casino",), active=True)
    assert decide(app, verdict=active)[0] == Status.pending
    assert decide(app, verdict=Verdict(score=0.9999, clues=(), active=True))[0] == Status.spam
    assert decide(app, verdict=Verdict(score=0.9999, clues=(), active=False)) == (
        Status.approved,
        None,
    )
    with app.app_context():
        db.session.add_all(
            [
                BlockedWord(word="casino", action=RuleAction.refuse),
                Ban(kind=BanKind.email, value="spam@example.com", action=RuleAction.spam),
            ]
        )
        db.session.commit()
    with pytest.raises(Refused):
        decide(app, "casino night")
    assert decide(app, email="spam@example.com", verdict=active) == (Status.spam, "banned email")


# --- the thread tree -----------------------------------------------------------------------------


def test_the_tree_nests_replies_and_keeps_a_placeholder_for_a_withdrawn_parent(app):
    start = utcnow() - timedelta(hours=1)
    with app.app_context():
        thread = Thread(uri="/tree.html")
        root = Comment(
            thread=thread, text="root", html="<p>root</p>", status=Status.approved, created=start
        )
        gone = Comment(
            thread=thread,
            text="gone",
            html="<p>gone</p>",
            status=Status.deleted,
            created=start + timedelta(minutes=1),
        )
        held = Comment(
            thread=thread,
            text="held",
            html="<p>held</p>",
            status=Status.pending,
            created=start + timedelta(minutes=2),
        )
        db.session.add_all([root, gone, held])
        db.session.flush()
        chain, parent = [], root.id
        for depth in range(MAX_DEPTH + 2):
            reply = Comment(
                thread=thread,
                parent_id=parent,
                text=f"d{depth}",
                html=f"<p>d{depth}</p>",
                status=Status.approved,
                created=start + timedelta(minutes=3 + depth),
            )
            db.session.add(reply)
            db.session.flush()
            chain.append(reply.id)
            parent = reply.id
        orphan = Comment(
            thread=thread,
            parent_id=gone.id,
            text="answer",
            html="<p>answer</p>",
            status=Status.approved,
            created=start + timedelta(minutes=30),
        )
        db.session.add(orphan)
        db.session.commit()
        tree = thread_tree(db.session, site="default", uri="/tree.html")
        mine = thread_tree(db.session, site="default", uri="/tree.html", own_ids=[held.id])
        ids = (root.id, gone.id, held.id, orphan.id)
    roots = tree["comments"]
    assert [c["id"] for c in roots] == [ids[0], ids[1]]  # the held comment is not shown
    assert roots[1]["status"] == "deleted" and roots[1]["html"] == ""
    assert [c["id"] for c in roots[1]["replies"]] == [ids[3]]
    depth, node = 1, roots[0]
    while node["replies"] and depth < MAX_DEPTH:
        node, depth = node["replies"][0], depth + 1
    assert [c["id"] for c in node["replies"]] == chain[MAX_DEPTH - 1 :]  # deeper ones flattened
    assert ids[2] in [c["id"] for c in mine["comments"]]  # its author sees their own


def test_flattening_attaches_deeper_replies_at_the_deepest_level_in_order():
    def chain(first: int, length: int) -> dict:
        node = {"id": first + length - 1, "replies": []}
        for n in range(first + length - 2, first - 1, -1):
            node = {"id": n, "replies": [node]}
        return node

    root = chain(1, MAX_DEPTH + 2)  # 1 -> 2 -> ... -> MAX_DEPTH + 2
    deepest = root
    for _ in range(MAX_DEPTH - 2):
        deepest = deepest["replies"][0]
    deepest["replies"].append({"id": 100, "replies": []})  # a later sibling at MAX_DEPTH
    keys = {n: (n, n) for n in [*range(1, MAX_DEPTH + 3), 100]}
    _flatten_deep([root], keys)
    level = root
    for _ in range(MAX_DEPTH - 1):
        level = level["replies"][0]
    assert level["id"] == MAX_DEPTH
    assert [c["id"] for c in level["replies"]] == [MAX_DEPTH + 1, MAX_DEPTH + 2]
    assert all(not c["replies"] for c in level["replies"])


# --- errors ------------------------------------------------------------------------------------


def test_every_refusal_of_the_domain_has_its_status_at_the_http_edge():
    """The domain raises errors by kind; the edge's table gives each its status, so a new kind
    is answered as its nearest ancestor until it is given its own."""
    import inspect

    from commentsvc import errors
    from commentsvc.http_errors import STATUS, status_of

    kinds = [
        kind
        for _, kind in inspect.getmembers(errors, inspect.isclass)
        if issubclass(kind, errors.ServiceError) and kind.__module__ == errors.__name__
    ]
    expected = {
        "ValidationFailed": 400,
        "UnknownSite": 400,
        "UnsupportedMediaType": 415,
        "ThreadClosed": 403,
        "Forbidden": 403,
        "Refused": 403,
        "NotVotable": 403,
        "TokenExpired": 403,
        "NotFound": 404,
        "LinkRefused": 400,
        "LinkGone": 410,
        "LinkNotYours": 403,
    }
    assert {kind.__name__ for kind in kinds} == {"ServiceError", *expected}
    for kind in kinds:
        assert status_of(kind.__new__(kind)) == expected.get(kind.__name__, 400), kind
        assert kind in STATUS or kind.__name__ in ("Refused", "NotVotable"), kind


# Uris as a page's counts carry them, and what may go wrong with one: every separator and
# character the one-match check for a list must refuse exactly as uri_problem does.
_URI_PIECES = st.sampled_from(
    [
        "/",
        "//",
        "/\\",
        "a",
        "2008",
        ".html",
        "?q=1",
        "#c",
        "é",
        "\n",
        " ",
        "\t",
        "\x00",
        "\x7f",
        "\xa0",
        "\u2028",
        "\u3000",
        "\ud800",
        "https://blog.example",
        "HTTPS://BLOG.EXAMPLE/x",
        "https://elsewhere.example/",
    ]
)
_URIS = st.one_of(
    st.lists(_URI_PIECES, max_size=6).map("".join),
    st.text(max_size=12),
    st.builds(
        lambda n: "/" + "a" * n, st.integers(MAX_URI - 10, MAX_URI + 10)
    ),  # around the longest uri
    st.sampled_from([None, 42, ["/a"], {"uri": "/a"}, True]),
)


@settings(
    max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(_URIS, max_size=8))
def test_a_list_of_uris_has_the_problems_its_uris_have_one_by_one(app, values):
    origins = ["https://blog.example"]
    with app.test_request_context():
        each = sorted({p for value in values if (p := uri_problem(value, origins))})
        assert uri_problems(values, origins) == each
