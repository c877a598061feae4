"""The local spam filter: it learns from moderators and files, acts only once it has learned,
explains what it held, and keeps one model in the database for every process."""

from __future__ import annotations

import csv
import json
import re
import secrets
import time
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
import sqlalchemy as sa

from commentsvc import spamfilter
from commentsvc.config import load, settings_of
from commentsvc.errors import BadSetting
from commentsvc.extensions import db
from commentsvc.models import Comment, Role, SpamFeature, SpamLesson, SpamModel, Status
from commentsvc.tokens import issue_action_token, issue_form_token
from tests.support.admin import csrf_token, login, make_moderator
from tests.support.env import SECRET_KEY as SERVER_SECRET
from tests.support.env import run_command, service_env
from tests.support.server import Server

from .conftest import REPO, SECRET, corpus, unique_uri
from .settings_helpers import change_settings

BLOG_COMMENTS = REPO / "tests" / "data" / "blog_comments.csv"

SUPPORT_SPAM = (
    "Great post! For printer support call our toll free number +1-888-555-0142, "
    "we fix any printer fast. Call the support number today."
)
REAL = (
    "I tried the follow-up approach you describe with a difficult client last spring. "
    "It took four calls, but she signed in the end. Thanks for writing this up!"
)


def train_from(app, path) -> str:
    result = app.test_cli_runner().invoke(args=["spam-filter", "train", str(path)])
    assert result.exit_code == 0, result.output
    return result.output


def comment_row(app, comment_id: int) -> Comment:
    with app.app_context():
        comment = db.session.get(Comment, comment_id)
        db.session.expunge(comment)
        return comment


def lessons(app) -> dict[int | None, str]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(SpamLesson.comment_id, SpamLesson.label).where(
                SpamLesson.comment_id.is_not(None)
            )
        )
        return {comment_id: label for comment_id, label in rows}


def total(app) -> tuple[int, int]:
    with app.app_context():
        return spamfilter.lesson_counts(db.session)


def teach_examples(app, spam: int, ham: int) -> None:
    """Lessons from a file, as `spam-filter train` gives them, `spam` and `ham` of each."""
    examples = [
        (f"cheap pills casino loans {n} https://pills-{n}.example", "spam", "Pills")
        for n in range(spam)
    ]
    examples += [
        (f"I enjoyed reading about your garden, tomato number {n} grew well.", "ham", "Reader")
        for n in range(ham)
    ]
    with app.app_context():
        spamfilter.train(db.session, examples)
        db.session.commit()


# --- features and the score, without a database ---------------------------------------------


def test_features_name_links_phone_numbers_word_pairs_and_the_website():
    feats = spamfilter.features(
        "Call the SUPPORT number +1 (888) 555-0142 or see https://www.printer-support.example/x",
        author="Printer Help",
        website="https://fix-it.example",
    )
    for expected in (
        "link:printer-support.example",
        "phone",
        "w:call",
        "p:support number",
        "site:fix-it.example",
        "name:printer",
        "links:1",
        "website",
    ):
        assert expected in feats
    assert "phone" not in spamfilter.features("We met in 2019 and again in 2021.")
    assert "capitals" in spamfilter.features("BUY NOW THE BEST WATCHES CHEAP")
    assert "capitals" not in spamfilter.features("Buy now, the best watches are cheap")
    assert "link only" in spamfilter.features("see this https://www.facebook.com/x")
    assert "link only" not in spamfilter.features(
        "The docs at https://docs.example/x explain the flag better than I can."
    )
    assert (
        len(spamfilter.features(" ".join(f"w{n}" for n in range(5000)))) == spamfilter.MAX_FEATURES
    )


def test_a_spam_word_hidden_behind_digits_reads_as_the_word():
    feats = spamfilter.features("Pls subscr1be to my ch4nnel and ch3ck out my v1deos")
    for expected in ("w:subscribe", "w:channel", "w:check", "w:videos", "w:subscr1be"):
        assert expected in feats
    # Words that merely hold digits are left as they are.
    for word in ("mp3", "covid19", "b2b", "4ever", "x11r6", "2019"):
        assert not [f for f in spamfilter.features(f"I like {word} a lot") if f.startswith("s:")]
        assert [f for f in spamfilter.features(f"I like {word} a lot") if f.startswith("w:")] == [
            "w:like",
            *([f"w:{word}"] if not word.isdigit() else []),
            "w:lot",
        ]


def test_an_obfuscated_spam_word_is_recognised_from_lessons_of_the_plain_word():
    lessons = [
        ("spam", spamfilter.features(f"please subscribe to my channel for {topic} videos"))
        for topic in ("cooking", "gaming", "music", "prank", "travel")
    ] + [
        ("ham", spamfilter.features(f"the {part} of this song is lovely, great voice"))
        for part in ("chorus", "bridge", "ending", "beat", "intro")
    ]
    counts: dict[str, tuple[int, int]] = {}
    for label, feats in lessons:
        for feature in feats:
            spam, ham = counts.get(feature, (0, 0))
            counts[feature] = (spam + (label == "spam"), ham + (label == "ham"))
    probability, clues = spamfilter.score(
        counts, 5, 5, spamfilter.features("pls subscr1be 2 my ch4nnel")
    )
    assert probability > 0.9
    assert {"w:subscribe", "w:channel"} <= set(clues)


def test_long_words_also_count_by_their_stem_so_word_forms_teach_one_another():
    assert "s:subscri" in spamfilter.features("Subscribers wanted")
    assert "s:subscri" in spamfilter.features("Subscribing is free")
    assert not [f for f in spamfilter.features("my small cat") if f.startswith("s:")]
    assert spamfilter.describe("s:subscri") == "'subscri…'"
    # A moderator is told of the word once, not of the word and its stem.
    verdict = spamfilter.Verdict(
        score=0.95,
        clues=("s:subscri", "w:subscribe", "w:channel", "w:subscribers", "phone"),
        active=True,
    )
    assert verdict.reason() == "spam filter: 0.95 ('subscri…', 'channel', phone)"


def test_a_feature_seen_only_in_spam_pushes_the_score_up_and_is_named_first():
    counts = {"w:casino": (30, 0), "w:garden": (0, 30), "w:the": (20, 20)}
    spammy, clues = spamfilter.score(counts, 30, 30, ["w:casino", "w:the"])
    hammy, _ = spamfilter.score(counts, 30, 30, ["w:garden", "w:the"])
    assert spammy > 0.9 > 0.1 > hammy
    assert clues == ("w:casino",)
    assert spamfilter.score(counts, 30, 30, ["w:unseen"]) == (0.5, ())
    assert spamfilter.score({}, 0, 0, ["w:casino"]) == (0.5, ())
    verdict = spamfilter.Verdict(
        score=0.873,
        clues=("link:printer-support.example", "w:call", "p:support number", "phone"),
        active=True,
    )
    assert verdict.reason() == (
        "spam filter: 0.87 (link to printer-support.example, 'call', 'support number')"
    )


def test_the_score_reads_shares_of_lessons_so_a_small_model_speaks_as_a_large_one():
    small = {"w:casino": (9, 1), "w:garden": (1, 9)}
    large = {feature: (spam * 100, ham * 100) for feature, (spam, ham) in small.items()}
    for feats in (["w:casino"], ["w:garden"], ["w:casino", "w:garden"]):
        assert spamfilter.score(small, 10, 10, feats)[0] == pytest.approx(
            spamfilter.score(large, 1000, 1000, feats)[0], abs=0.01
        )


def test_thresholds_and_mode_are_settings_checked_when_read():
    settings = load("/tmp", environ={})
    assert (settings.spam_filter, settings.spam_filter_hold, settings.spam_filter_spam) == (
        "on",
        0.75,
        0.999,
    )
    for bad in (
        {"COMMENTSVC_SPAM_FILTER": "sometimes"},
        {"COMMENTSVC_SPAM_FILTER_HOLD": "high"},
        {"COMMENTSVC_SPAM_FILTER_HOLD": "1.5"},
        {"COMMENTSVC_SPAM_FILTER_HOLD": "0.99", "COMMENTSVC_SPAM_FILTER_SPAM": "0.95"},
        {"COMMENTSVC_SPAM_FILTER_REFIT_DELAY": "soon"},
        # Beyond what a process can sleep: the refit would never come.
        {"COMMENTSVC_SPAM_FILTER_REFIT_DELAY": "1000000000000"},
    ):
        with pytest.raises(BadSetting, match="COMMENTSVC_SPAM_FILTER"):
            load("/tmp", environ=bad)


# --- acting on posts -------------------------------------------------------------------------


def test_a_fresh_install_records_scores_but_holds_and_marks_nothing(app, make_comment):
    teach_examples(app, spam=19, ham=40)  # one spam lesson short
    posted = make_comment(
        unique_uri(), "cheap pills casino loans https://pills-1.example", author="Pills"
    )
    assert posted["status"] == "approved"  # moderation none: the policy decides
    row = comment_row(app, posted["id"])
    assert row.spam_score is not None and row.spam_score > 0.9
    assert row.filter_action is None and row.held_reason is None


@pytest.mark.parametrize("spam, ham", [(0, 0), (30, 0), (0, 30)])
def test_until_it_has_lessons_of_both_kinds_every_score_recorded_is_even(
    app, make_comment, spam, ham
):
    teach_examples(app, spam=spam, ham=ham)
    for text in ("cheap pills casino loans https://pills-1.example", "My tomato grew well."):
        posted = make_comment(unique_uri(), text, author="Pills")
        row = comment_row(app, posted["id"])
        assert (row.spam_score, row.filter_action, posted["status"]) == (0.5, None, "approved")


def test_after_training_from_a_file_spam_is_held_with_its_reason_and_real_comments_pass(
    app, make_comment, settings
):
    output = train_from(app, BLOG_COMMENTS)
    with BLOG_COMMENTS.open(encoding="utf-8", newline="") as lines:
        labels = [row["label"] for row in csv.DictReader(lines)]
    assert f"learned {labels.count('spam')} spam and {labels.count('ham')} ham" in output
    spam = make_comment(
        unique_uri(),
        SUPPORT_SPAM,
        author="Printer Help Desk",
        website="https://printer-support.example",
    )
    real = make_comment(unique_uri(), REAL, author="Maria")
    assert spam["status"] == "pending" and real["status"] == "approved"
    row = comment_row(app, spam["id"])
    assert (row.status, row.filter_action) in ((Status.pending, "held"), (Status.spam, "spam"))
    assert re.fullmatch(r"spam filter: [01]\.\d\d \(.+, .+, .+\)", row.held_reason)
    assert "'support'" in row.held_reason or "phone" in row.held_reason
    assert comment_row(app, real["id"]).filter_action is None
    make_moderator(app, "boss", role=Role.admin)
    moderator = app.test_client()
    assert login(moderator, "boss").status_code == 303
    queue = moderator.get(f"/admin/?status={row.status.value}").get_data(as_text=True)
    assert row.held_reason.replace("'", "&#39;") in queue


def test_the_thresholds_decide_between_holding_and_marking_spam_quietly(app, make_comment):
    teach_examples(app, spam=40, ham=40)

    def post_with_score_between(hold: float, spam: float, n: int) -> Comment:
        """Post text the filter scores at s, with the thresholds set at hold*s and spam*s."""
        text = f"cheap pills casino loans https://pills-{n}.example and a garden"
        with app.app_context():
            score = spamfilter.classify(
                db.session, settings_of(app), text=text, author="Pills", website=None
            ).score
        assert 0.5 < score < 1.0
        change_settings(
            app, SPAM_FILTER_HOLD=min(1.0, score * hold), SPAM_FILTER_SPAM=min(1.0, score * spam)
        )
        posted = make_comment(unique_uri(), text, author="Pills")
        assert posted["status"] in ("pending", "approved")  # never "spam", to the poster
        return comment_row(app, posted["id"])

    marked = post_with_score_between(0.5, 1.0, 1)
    assert marked.status == Status.spam and marked.filter_action == "spam"
    assert marked.held_reason.startswith("spam filter: ")
    held = post_with_score_between(0.5, 1.0001, 2)
    assert held.status == Status.pending and held.filter_action == "held"
    passed = post_with_score_between(1.0001, 1.0002, 3)
    assert passed.status == Status.approved and passed.filter_action is None


def test_learn_mode_scores_without_acting_and_off_neither_scores_nor_learns(
    app, make_comment, moderator
):
    teach_examples(app, spam=40, ham=40)
    change_settings(app, SPAM_FILTER="learn")
    posted = make_comment(unique_uri(), "cheap pills casino loans https://pills-9.example")
    assert posted["status"] == "approved"
    assert comment_row(app, posted["id"]).spam_score > 0.9
    change_settings(app, SPAM_FILTER="off")
    quiet = make_comment(unique_uri(), "cheap pills casino loans https://pills-8.example")
    assert quiet["status"] == "approved" and comment_row(app, quiet["id"]).spam_score is None
    before = total(app)
    token = csrf_token(moderator, "/admin/")
    assert (
        moderator.post(
            f"/admin/comments/{quiet['id']}/spam", data={"csrf_token": token}
        ).status_code
        == 303
    )
    assert total(app) == before and lessons(app) == {}


def test_an_edit_into_spam_is_held_by_the_filter(app, client, make_comment):
    teach_examples(app, spam=40, ham=40)
    posted = make_comment(unique_uri(), "Lovely tomatoes this year, thanks for the tips.")
    assert posted["status"] == "approved"
    changed = client.patch(
        f"/api/comments/{posted['id']}",
        json={"text": "cheap pills casino loans https://pills-3.example"},
        headers={"Authorization": f"Bearer {posted['edit_token']}"},
    )
    assert changed.status_code == 200
    row = comment_row(app, posted["id"])
    assert row.status != Status.approved and row.filter_action in ("held", "spam")
    assert row.held_reason.startswith("edited: spam filter: ")


# --- learning from moderators -----------------------------------------------------------------


@pytest.mark.usefixtures("held")
def test_queue_decisions_teach_it_and_a_restore_takes_the_spam_lesson_back(
    app, moderator, make_comment
):
    uri = unique_uri()
    ham = make_comment(uri, "A real question about pricing?")
    spam = make_comment(uri, "Buy followers at https://followers.example")
    token = csrf_token(moderator, "/admin/")
    act = lambda cid, action: moderator.post(  # noqa: E731
        f"/admin/comments/{cid}/{action}", data={"csrf_token": token}
    )
    assert act(ham["id"], "approve").status_code == 303
    assert act(spam["id"], "spam").status_code == 303
    assert lessons(app) == {ham["id"]: "ham", spam["id"]: "spam"}
    assert total(app) == (1, 1)
    with app.app_context():
        followers = db.session.get(SpamFeature, "link:followers.example")
        assert (followers.spam, followers.ham) == (1, 0)
    assert act(spam["id"], "restore").status_code == 303
    assert lessons(app) == {ham["id"]: "ham"} and total(app) == (0, 1)
    with app.app_context():
        # Taught by that lesson alone, the feature goes with it; one the other lesson also
        # taught keeps that lesson's count.
        assert db.session.get(SpamFeature, "link:followers.example") is None
        links = db.session.get(SpamFeature, "no website")
        assert (links.spam, links.ham) == (0, 1)
    # A moderator who changes their mind: the comment's lesson is replaced, not added to.
    assert act(ham["id"], "spam").status_code == 303
    assert lessons(app) == {ham["id"]: "spam"} and total(app) == (1, 0)


@pytest.mark.usefixtures("held")
def test_bulk_actions_and_mail_links_teach_it(app, client, moderator, make_comment):
    change_settings(app, MODERATOR_EMAILS=["alerts@example.com"])
    uri = unique_uri()
    ids = [make_comment(uri, f"Offer number {n}: cheap loans")["id"] for n in range(3)]
    token = csrf_token(moderator, "/admin/")
    bulk = {"csrf_token": token, "action": "spam", "ids": [str(ids[0]), str(ids[1])]}
    assert moderator.post("/admin/bulk", data=bulk).status_code == 303
    path = "/mail/moderate/" + issue_action_token(SECRET, ids[2], "approve", "alerts@example.com")
    anonymous = app.test_client()
    form = anonymous.get(path).get_data(as_text=True)
    link_token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    assert anonymous.post(path, data={"csrf_token": link_token}).status_code == 200
    assert lessons(app) == {ids[0]: "spam", ids[1]: "spam", ids[2]: "ham"}
    assert total(app) == (2, 1)


@pytest.mark.usefixtures("held")
def test_a_comment_the_filter_held_and_a_moderator_approved_counts_as_overturned(
    app, client, make_comment
):
    teach_examples(app, spam=40, ham=40)
    held = make_comment(unique_uri(), "cheap pills casino loans https://pills-2.example")
    kept = make_comment(unique_uri(), "cheap pills casino loans https://pills-4.example")
    make_moderator(app, "boss", role=Role.admin)
    assert login(client, "boss").status_code == 303
    token = csrf_token(client, "/admin/")
    assert (
        client.post(f"/admin/comments/{held['id']}/approve", data={"csrf_token": token}).status_code
        == 303
    )
    page = client.get("/admin/spam-filter")
    assert page.status_code == 200
    text = re.sub(r"\s+", " ", page.get_data(as_text=True))
    assert "held or marked 2 comments; moderators approved 1 of them" in text
    assert "false-positive rate of <strong>50.0%</strong>" in text
    assert "40 spam, 40 not spam" in text  # from files
    assert "<svg" in text and 'class="overturned"' in text
    assert "Last fitted</dt><dd>not yet" in text and "measured at a fit" in text
    with app.app_context():
        spamfilter.refit(db.session)
    text = re.sub(r"\s+", " ", client.get("/admin/spam-filter").get_data(as_text=True))
    assert re.search(
        r"Last fitted</dt><dd><time datetime=\S+>\d{4}-\d\d-\d\d \d\d:\d\d UTC</time>, in", text
    )
    assert re.search(r"Accuracy</dt><dd>\d+\.\d% of 81 lessons at the last fit", text), text
    # What it learned, as signs: the examples' spam words towards spam, the garden towards real.
    towards_spam = re.search(r"Towards spam</h3> <ol>(.*?)</ol>", text)[1]
    towards_real = re.search(r"Towards a real comment</h3> <ol>(.*?)</ol>", text)[1]
    assert "casino" in towards_spam and "garden" not in towards_spam
    assert "garden" in towards_real and "casino" not in towards_real
    assert towards_spam.count("<li>") == spamfilter.SHOWN_SIGNS
    with app.app_context():
        assert spamfilter.activity(db.session).acted == 2
    assert comment_row(app, kept["id"]).filter_action in ("held", "spam")


def test_the_spam_filter_page_is_for_admins_only(app, moderator):
    assert moderator.get("/admin/spam-filter").status_code == 403
    anonymous = app.test_client()
    response = anonymous.get("/admin/spam-filter")
    assert response.status_code in (302, 303) and "/admin/login" in response.headers["Location"]


def test_erasing_a_commenter_takes_back_what_their_comments_taught(app, moderator, make_comment):
    email = f"ann-{secrets.token_hex(3)}@example.com"
    posted = make_comment(
        unique_uri(), "Rare words: zymurgy quokka", email=email, author="Ann Quokka"
    )
    token = csrf_token(moderator, "/admin/")
    assert (
        moderator.post(
            f"/admin/comments/{posted['id']}/spam", data={"csrf_token": token}
        ).status_code
        == 303
    )
    assert total(app) == (1, 0)
    result = app.test_cli_runner().invoke(args=["erase", "--email", email, "--yes"])
    assert result.exit_code == 0, result.output
    assert total(app) == (0, 0) and lessons(app) == {}
    with app.app_context():
        kept = db.session.execute(
            sa.select(SpamFeature.feature).where(
                SpamFeature.feature.in_(["w:zymurgy", "name:quokka", "p:zymurgy quokka"])
            )
        ).all()
        stale = spamfilter.stale(db.session)
    assert kept == []  # not even as a row of zero counts, or a weight
    assert not stale  # and the regression was fitted again without the lesson


# --- the command line, and a second process ---------------------------------------------------


def test_train_reads_the_youtube_collection_and_reports_rows_it_skipped(app, tmp_path):
    output = train_from(app, corpus("spam", "Youtube01-Psy.csv"))
    assert re.search(r"learned \d{3} spam and \d{3} ham example\(s\)", output)
    spam, ham = total(app)
    assert spam > 100 and ham > 100
    odd = tmp_path / "odd.csv"
    odd.write_text("text,label\nbuy now,spam\n,ham\nhello there,maybe\nnice post,ham\n")
    result = app.test_cli_runner().invoke(args=["spam-filter", "train", str(odd)])
    assert result.exit_code == 0
    assert "learned 1 spam and 1 ham" in result.output
    assert "line 3: no text" in result.output and "line 4: label 'maybe'" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("words,kind\nhello,ham\n")
    result = app.test_cli_runner().invoke(args=["spam-filter", "train", str(bad)])
    assert result.exit_code == 1 and "text,label" in result.output
    assert "Traceback" not in result.output and total(app) == (spam + 1, ham + 1)


def test_stats_reports_lessons_and_held_back_accuracy_and_reset_asks_first(app):
    runner = app.test_cli_runner()
    fresh = runner.invoke(args=["spam-filter", "stats"]).output
    assert "fitted:        not yet" in fresh and "accuracy:      not measured" in fresh
    output = train_from(app, BLOG_COMMENTS)
    assert re.search(r"fitted the model to every lesson in \d+\.\d s", output)
    output = runner.invoke(args=["spam-filter", "stats"]).output
    assert "filter:        acting" in output
    assert re.search(r"fitted: +\d{4}-\d\d-\d\d \d\d:\d\d UTC in \d+\.\d s\n", output)
    accuracy = re.search(
        r"accuracy: +(\d+\.\d)% on (\d+) held-back lessons \(scored by models "
        r"fitted without them\): (\d+\.\d)% of spam "
        r"held or marked, (\d+\.\d)% of real comments",
        output,
    )
    assert accuracy, output
    # Every lesson was held back once; the blog comments are told apart far better than chance.
    with BLOG_COMMENTS.open(encoding="utf-8", newline="") as lines:
        assert int(accuracy[2]) == len(list(csv.DictReader(lines)))
    assert float(accuracy[3]) > 50 and float(accuracy[4]) < 20
    assert "up to date" in runner.invoke(args=["spam-filter", "refit"]).output
    refused = runner.invoke(args=["spam-filter", "reset"], input="n\n")
    assert refused.exit_code == 1 and total(app) != (0, 0)
    done = runner.invoke(args=["spam-filter", "reset"], input="y\n")
    assert done.exit_code == 0 and total(app) == (0, 0)
    with app.app_context():
        assert db.session.execute(sa.select(sa.func.count()).select_from(SpamFeature)).scalar() == 0


def test_a_second_process_reads_the_model_the_first_one_taught(
    app, database_url, tmp_path, make_comment
):
    teach_examples(app, spam=25, ham=30)
    shown = run_command(database_url, tmp_path, "spam-filter", "stats", timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert "from files:    25 spam, 30 not spam" in shown.stdout
    assert "filter:        acting" in shown.stdout
    # And the other way: a lesson taught by another process changes what this one decides.
    uri = unique_uri()
    token = issue_form_token(SECRET, "default", uri)
    examples = tmp_path / "more.csv"
    examples.write_text(
        "text,label\n" + "".join(f"zymurgy quokka offer {n},spam\n" for n in range(30))
    )
    trained = run_command(database_url, tmp_path, "spam-filter", "train", str(examples), timeout=60)
    assert trained.returncode == 0, trained.stderr
    response = app.test_client().post(
        "/api/comments",
        json={"uri": uri, "text": "zymurgy quokka offer today", "form_token": token},
    )
    assert response.status_code == 201
    assert comment_row(app, response.get_json()["id"]).filter_action in ("held", "spam")


def test_the_model_drops_features_seen_once_when_it_grows_too_large(app):
    teach_examples(app, spam=30, ham=30)
    with app.app_context():
        rows = db.session.execute(sa.select(sa.func.count()).select_from(SpamFeature)).scalar()
        assert spamfilter.prune(db.session) == 0  # far below the limit: nothing goes
        dropped = spamfilter.prune(db.session, limit=rows - 1)
        db.session.commit()
        kept = dict(
            db.session.execute(
                sa.select(SpamFeature.feature, SpamFeature.spam + SpamFeature.ham)
            ).all()
        )
    assert dropped > 0 and len(kept) == rows - dropped
    assert min(count for feature, count in kept.items() if feature != spamfilter.TOTAL) >= 2
    assert "w:casino" in kept and "link:pills-3.example" not in kept
    assert total(app) == (30, 30)  # the lesson totals are never dropped


# --- the regression, refitted to every lesson ------------------------------------------------


def model_state(app) -> tuple[int | None, int | None, bool]:
    """The model's (changes, fitted_changes) and whether any weight is stored."""
    with app.app_context():
        state = db.session.get(SpamModel, spamfilter.MODEL_ID)
        weighted = db.session.execute(
            sa.select(sa.func.count()).where(SpamFeature.weight.is_not(None))
        ).scalar()
        return (state.changes, state.fitted_changes, weighted > 0) if state else (None, None, False)


def test_a_refit_stores_a_weight_per_feature_and_the_score_then_reads_both_scorers(app):
    teach_examples(app, spam=40, ham=40)
    changes, fitted, weighted = model_state(app)
    assert changes and fitted is None and not weighted  # taught, never fitted
    text = "cheap pills casino loans https://pills-7.example about my garden"
    settings = settings_of(app)
    with app.app_context():
        counts_only = spamfilter.classify(
            db.session, settings, text=text, author="Pills", website=None
        )
        assert spamfilter.refit(db.session) is not None
        assert spamfilter.refit(db.session) is None  # nothing changed since
        both = spamfilter.classify(db.session, settings, text=text, author="Pills", website=None)
        rows = {row.feature: row for row in db.session.execute(sa.select(SpamFeature)).scalars()}
    assert model_state(app) == (changes, changes, True)
    assert rows["w:casino"].weight > 0 > rows["w:garden"].weight
    # The score is the two scorers' average log odds, from exactly what is stored.
    feats = spamfilter.features(text, author="Pills", blog_lang=settings.language)
    counts = {f: (rows[f].spam, rows[f].ham) for f in feats if f in rows}
    weights = {f: rows[f].weight for f in feats if f in rows and rows[f].weight is not None}
    lessons = (rows[spamfilter.TOTAL].spam, rows[spamfilter.TOTAL].ham)
    regression = (weights, rows[spamfilter.TOTAL].weight)
    assert both.score == pytest.approx(spamfilter.score(counts, *lessons, feats, regression)[0])
    assert counts_only.score == pytest.approx(spamfilter.score(counts, *lessons, feats)[0])
    assert both.score != pytest.approx(counts_only.score)
    assert "w:garden" not in both.clues and both.clues[0] != "w:about"


def test_the_regression_alone_tells_apart_words_that_naive_bayes_cannot():
    """Naive Bayes counts each word alone; the regression weighs words by what they add. Every
    lesson carries "offer"; only "cheap" and "garden" decide, and the regression learns that."""
    lessons = [("spam", ["w:offer", "w:cheap"])] * 30 + [("ham", ["w:offer", "w:garden"])] * 30
    weights, bias = spamfilter.fit(lessons)
    assert weights["w:cheap"] > 1 and weights["w:garden"] < -1
    assert abs(weights["w:offer"] + bias) < abs(weights["w:cheap"])
    assert spamfilter.fit(lessons) == (weights, bias)  # the same lessons, the same model
    counts, spam, ham = spamfilter.count_model(lessons)
    spammy, clues = spamfilter.score(counts, spam, ham, ["w:offer", "w:cheap"], (weights, bias))
    real, _ = spamfilter.score(counts, spam, ham, ["w:offer", "w:garden"], (weights, bias))
    assert spammy > 0.9 > 0.1 > real and clues[0] == "w:cheap"


@pytest.mark.usefixtures("held")
def test_a_moderators_decision_refits_the_model_in_the_background(app, moderator, make_comment):
    teach_examples(app, spam=25, ham=25)
    with app.app_context():
        spamfilter.refit(db.session)
    before = model_state(app)
    app.config["SPAM_REFIT_IN_TESTS"] = True
    change_settings(app, SPAM_FILTER_REFIT_DELAY=0)
    spam = make_comment(unique_uri(), "Buy followers at https://followers.example")
    token = csrf_token(moderator, "/admin/")
    response = moderator.post(f"/admin/comments/{spam['id']}/spam", data={"csrf_token": token})
    assert response.status_code == 303  # answered at once; the fit comes after
    deadline = time.monotonic() + 30
    while model_state(app)[1] != before[0] + 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert model_state(app) == (before[0] + 1, before[0] + 1, True)
    with app.app_context():
        followers = db.session.get(SpamFeature, "link:followers.example")
        assert followers.spam == 1 and followers.weight > 0


def test_a_lesson_taught_during_a_refit_leaves_the_model_stale(app, monkeypatch):
    teach_examples(app, spam=25, ham=25)
    fit = spamfilter.fit
    taught = []

    def fit_while_a_moderator_decides(lessons, seed=1):
        if not taught:  # another process's lesson, committed while this one fits
            taught.append(True)
            teach_examples(app, spam=1, ham=0)
        return fit(lessons, seed)

    monkeypatch.setattr(spamfilter, "fit", fit_while_a_moderator_decides)
    with app.app_context():
        assert spamfilter.refit(db.session) is not None
        assert spamfilter.stale(db.session)
        assert spamfilter.refit(db.session) is not None
        assert not spamfilter.stale(db.session)


def test_one_process_at_a_time_claims_the_refit_and_a_dead_claim_lapses(app):
    with app.app_context():
        assert not spamfilter.claim_refit(db.session)  # no lessons: nothing to fit
    teach_examples(app, spam=25, ham=25)
    with app.app_context():
        assert spamfilter.claim_refit(db.session)
        assert not spamfilter.claim_refit(db.session)  # another process is at it
        db.session.execute(
            sa.update(SpamModel).values(refitting_until=spamfilter.utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        assert spamfilter.claim_refit(db.session)  # its process died: the claim lapsed
        spamfilter.refit(db.session)
        assert not spamfilter.claim_refit(db.session)  # fitted: nothing to do


def test_a_reset_forgets_the_fit_too(app):
    teach_examples(app, spam=25, ham=25)
    with app.app_context():
        spamfilter.refit(db.session)
        spamfilter.reset(db.session)
        db.session.commit()
    assert model_state(app) == (None, None, False)
    runner = app.test_cli_runner()
    assert "not yet" in runner.invoke(args=["spam-filter", "stats"]).output


def test_a_large_model_is_measured_on_one_fifth_held_back(monkeypatch):
    lessons = [("spam", ["w:casino", f"w:n{n}"]) for n in range(30)]
    lessons += [("ham", ["w:garden", f"w:n{n}"]) for n in range(30)]
    assert len(spamfilter.held_back_scores(lessons)) == 60  # every lesson, five fits
    monkeypatch.setattr(spamfilter, "ALL_FOLDS_BELOW", 60)
    scores = spamfilter.held_back_scores(lessons)
    assert [label for label, _ in scores] == [label for label, _ in lessons[::5]]
    accuracy = spamfilter.accuracy_at(scores, 0.75)
    assert accuracy.tested == 12 and accuracy.spam_caught == 1.0 and accuracy.ham_flagged == 0.0


@pytest.mark.usefixtures("held")
def test_the_queue_shows_each_score_and_can_put_the_likeliest_spam_first(
    app, moderator, make_comment
):
    teach_examples(app, spam=10, ham=10)  # too few to act: every comment waits, scored
    uri = unique_uri()
    texts = [
        "My tomato grew well in your garden tips",
        "cheap pills casino loans https://pills-3.example",
        "cheap pills and my garden",
    ]
    ids = [make_comment(uri, text)["id"] for text in texts]
    scores = {i: comment_row(app, i).spam_score for i in ids}
    assert scores[ids[1]] > scores[ids[2]] > scores[ids[0]]

    def order(query: str) -> list[int]:
        page = moderator.get(f"/admin/?status=pending&thread=&{query}").get_data(as_text=True)
        return [int(i) for i in re.findall(r'id="c(\d+)"', page) if int(i) in ids]

    assert order("") == ids  # oldest first, as ever
    assert order("order=spam") == [ids[1], ids[2], ids[0]]
    page = moderator.get("/admin/?order=spam").get_data(as_text=True)
    assert f"<dt>Spam filter</dt><dd>{scores[ids[1]]:.2f}</dd>" in page
    assert 'option value="spam" selected' in page
    assert order("order=nonsense") == ids  # an order it does not know is the usual one


def test_a_served_process_refits_a_little_after_a_decision_from_a_mail_link(
    app, database_url, tmp_path
):
    """gunicorn, one worker: an approval from a moderator's mail link is taught at once (the
    counts) and fitted in the background by the worker that took it."""
    teach_examples(app, spam=25, ham=25)
    with app.app_context():
        spamfilter.refit(db.session)
    changes = model_state(app)[0]
    env = service_env(
        database_url,
        tmp_path,
        MODERATION="all",
        MIN_SUBMIT_SECONDS=0,
        RATELIMIT_ENABLED=False,
        MODERATOR_EMAILS="alerts@example.com",
        SPAM_FILTER_REFIT_DELAY=1,
    )
    with Server(env, tmp_path / "server.log", workers=1) as server:
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())

        def call(path: str, body: bytes | None = None, kind: str = "application/json") -> str:
            headers = {"Content-Type": kind} if body is not None else {}
            sent = urllib.request.Request(server.url(path), data=body, headers=headers)
            with browser.open(sent, timeout=10) as answer:
                return answer.read().decode()

        uri = unique_uri()
        token = json.loads(call(f"/api/form-token?uri={uri}"))["form_token"]
        text = "Zymurgy tips for quokka keepers"
        body = json.dumps({"uri": uri, "text": text, "form_token": token}).encode()
        posted = json.loads(call("/api/comments", body))
        path = "/mail/moderate/" + issue_action_token(
            SERVER_SECRET, posted["id"], "approve", "alerts@example.com"
        )
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', call(path))[1]
        form = urllib.parse.urlencode({"csrf_token": csrf}).encode()
        call(path, form, "application/x-www-form-urlencoded")  # raises unless it succeeded
        assert lessons(app) == {posted["id"]: "ham"}  # taught in the decision's transaction
        deadline = time.monotonic() + 60
        while model_state(app)[1] != changes + 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert model_state(app) == (changes + 1, changes + 1, True), server.log_tail()
    with app.app_context():
        assert db.session.get(SpamFeature, "w:zymurgy").weight < 0  # learnt as not spam


@pytest.mark.usefixtures("held")
def test_a_failed_background_refit_frees_its_claim_for_the_next_decision(
    app, moderator, make_comment, monkeypatch
):
    teach_examples(app, spam=25, ham=25)
    app.config["SPAM_REFIT_IN_TESTS"] = True
    change_settings(app, SPAM_FILTER_REFIT_DELAY=0)
    fit, failures = spamfilter.fit, []

    def fails_once(lessons, seed=1):
        if not failures:
            failures.append(True)
            raise MemoryError("the host ran short of memory")
        return fit(lessons, seed)

    monkeypatch.setattr(spamfilter, "fit", fails_once)
    token = csrf_token(moderator, "/admin/")

    def decide(text: str) -> None:
        posted = make_comment(unique_uri(), text)
        url = f"/admin/comments/{posted['id']}/approve"
        assert moderator.post(url, data={"csrf_token": token}).status_code == 303
        deadline = time.monotonic() + 30
        while spamfilter._refitter["thread"] is not None and time.monotonic() < deadline:
            time.sleep(0.05)

    decide("My tomatoes grew well after your advice")
    with app.app_context():
        state = db.session.get(SpamModel, spamfilter.MODEL_ID)
        assert failures and state.refitting_until is None  # not held for ten minutes
        assert state.fitted_changes != state.changes
    decide("And the beans did too")
    changes, fitted, weighted = model_state(app)
    assert fitted == changes and weighted
