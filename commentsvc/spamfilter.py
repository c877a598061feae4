"""A spam filter that learns from the moderators, on the blog's own server.

What a comment says becomes a set of features: its words and word pairs, the domains it links
to, its author's name and website, and a few signals (how many links, a link with hardly any
words, a phone number, mostly capitals). A word spelt with digits for letters ("ch3ck") also
counts as the word it hides, and a long word also by its first letters ("subscri…"), so
"subscribers" and "subscr1be" meet the lessons "subscribe" taught. Each moderator decision is
a lesson: approve teaches "not spam", marking spam teaches "spam", restoring from spam takes the
spam lesson back. Everything is kept in the database (`spam_features`, `spam_lessons`,
`spam_model`), so every process reads the same model and nothing is cached.

Two scorers read the same features, and a comment's score averages their log odds:

- Naive Bayes over the count of lessons of each kind in which each feature was seen: for each
  feature the filter has seen, the log of how much more often it occurs in spam lessons than in
  real ones (as shares of each kind, so a model of 100 lessons and one of 100,000 speak on the
  same scale), the strongest MAX_CLUES of them averaged (a long comment is not surer for having
  more words). The counts change with every lesson, in the lesson's own transaction, and a
  lesson taken back is subtracted exactly.
- A logistic regression: a weight per feature, fitted to all stored lessons by stochastic
  gradient descent. A fit takes a fraction of a second per thousand lessons, so it is not done
  on every click: a process refits in the background a little after lessons change (a
  moderator's burst of decisions is one fit), and `spam-filter train` fits at once. Until the
  first fit the counts alone score.

The two disagree in useful ways (naive Bayes trusts rare words too much, the regression weighs
words that always come together), and together they catch more spam at the same share of real
comments held than either alone (bench/README.md). A comment the filter cannot place lands near
0.5. Until the filter has learned from at least MIN_LESSONS of each kind it only records scores.
"""

from __future__ import annotations

import html
import json
import logging
import math
import os
import random
import re
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from flask import Flask, current_app, has_request_context
from sqlalchemy import (
    CursorResult,
    Table,
    bindparam,
    case,
    delete,
    event,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from .config import Settings, settings_of
from .errors import BadTrainingFile
from .extensions import db
from .models import Comment, SpamFeature, SpamLesson, SpamModel, utcnow
from .transactions import upsert_insert

MODES = ("off", "learn", "on")
MIN_LESSONS = 20  # of each kind, before the filter holds or marks anything
# Measured with bench/spam_filter_bench.py over all YouTube and blog folds together (see
# bench/README.md): the 20 strongest features decide; a share of 0.1 % of lessons is added to
# both sides of each feature's ratio, so a feature never seen in one kind is strong, not
# infinite; and the average log ratio is scaled so that naive Bayes alone holding at 0.9 flags
# real comments rarely: SCALE is the largest value, one for all five YouTube folds, at which
# the mean share of real comments so held is at most 2 %. With the regression beside it, the
# default hold threshold became 0.75, chosen on all five folds the same way.
MAX_CLUES = 20
SMOOTHING = 0.001
SCALE = 2.15
# A long word also counts by its first STEM letters, so "subscribers", "subscribing" and
# "subscribirse" teach one another; measured the same way (bench/README.md), 7 letters did best.
STEM = 7
# The regression, measured the same way: 30 passes over the lessons, the step shrinking from
# 0.2, a light L2 penalty; beyond MAX_STEPS lessons-times-passes, fewer passes (at least
# MIN_EPOCHS), so a fit of 100,000 lessons stays within seconds. NB_SHARE is naive Bayes's
# part of the log odds when both scorers have spoken.
EPOCHS = 30
MIN_EPOCHS = 3
RATE = 0.2
L2 = 1e-4
MAX_STEPS = 300_000
NB_SHARE = 0.5
FOLDS = 5  # the held-back measure: each fifth of the lessons scored by a fit to the rest
SHOWN_SIGNS = 12  # the strongest signs each way that the admin page and `stats` show
ALL_FOLDS_BELOW = 5_000  # from this many lessons on, one fifth held back is measure enough
REFIT_CLAIM = timedelta(minutes=10)  # a refit that died frees its claim after this
MAX_LOG_ODDS = 30.0  # keeps a score below 1.0, so even the highest threshold can pass it
MAX_FEATURES = 400  # per comment: a 10,000-character text cannot make a huge query
# The model stays small (about 4 MB at this many rows): beyond it, features seen in one lesson
# only, which barely move a score, are dropped.
MAX_STORED_FEATURES = 100_000
PRUNE_CHECK_EVERY = 200  # lessons from moderators between two size checks

SPAM, HAM = "spam", "ham"
REASON_PREFIX = "spam filter: "

_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"'()\[\]]+"
    r"|\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:com|net|org|info|biz|ru|xyz|top|io|co|shop"
    r"|online|site|club|us|uk|in|de|example|test)\b(?:/[^\s<>\"'()\[\]]*)?",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W_](?:[\w'’-]*[^\W_])?")
_PHONE = re.compile(r"(?<!\w)\+?\(?\d[\d\s().-]{7,}\d(?!\w)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_MONEY = re.compile(r"[$€£]\s?\d|\d\s?(?:usd|eur|dollars?)\b", re.IGNORECASE)
_ANCHOR = re.compile(r"\[[^\]]+\]\([^)]+\)|<a\s", re.IGNORECASE)
_TAG = re.compile(r"<[^>]{0,200}>")
_LEET_INSIDE = re.compile(r"[^\W\d_][013457]+[^\W\d_]")  # a digit between letters
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t"})


@dataclass(frozen=True)
class Verdict:
    score: float  # the chance the comment is spam, 0 to 1
    clues: tuple[str, ...]  # the features that pushed it towards spam most, strongest first
    active: bool  # enough lessons of each kind to act on the score

    def reason(self) -> str:
        """ "spam filter: 0.87 (link to printer-support.example, 'call', 'support number')"."""
        shown = ", ".join(describe(clue) for clue in distinct_clues(self.clues)[:3])
        return f"{REASON_PREFIX}{self.score:.2f}" + (f" ({shown})" if shown else "")


def distinct_clues(clues: Sequence[str]) -> list[str]:
    """The clues without a word's stem once the word was named, or the word once its stem was:
    "'subscribe', 'subscri…'" tells a moderator one thing, not two."""
    named: set[str] = set()
    out = []
    for clue in clues:
        kind, _, value = clue.partition(":")
        if kind in ("w", "s") and value.isalpha():
            if value[:STEM] in named:
                continue
            named.add(value[:STEM])
        out.append(clue)
    return out


def _domain(url: str) -> str | None:
    if not re.match(r"https?://", url, re.IGNORECASE):
        url = "http://" + url
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return None
    host = host.removeprefix("www.")
    return host[:60] or None


def _bucket(value: int, limits: Sequence[int]) -> str:
    for limit in limits:
        if value <= limit:
            return f"{limit}"
    return f">{limits[-1]}"


def features(
    text: str,
    *,
    author: str | None = None,
    website: str | None = None,
    lang: str | None = None,
    blog_lang: str | None = None,
) -> list[str]:
    """The distinct features of one comment, each a short string ("w:call", "p:support
    number", "link:printer-support.example", "phone")."""
    text = unicodedata.normalize("NFKC", html.unescape(text or ""))
    found: dict[str, None] = {}  # ordered, distinct

    def add(feature: str) -> None:
        if len(found) < MAX_FEATURES:
            found[feature[:80]] = None

    urls = _URL.findall(text)
    for url in urls:
        domain = _domain(url)
        if domain:
            add(f"link:{domain}")
    add(f"links:{_bucket(len(urls), (0, 1, 2))}")
    if _ANCHOR.search(text):
        add("anchor text")
    rest = _TAG.sub(" ", _URL.sub(" ", text))
    if (phone := _PHONE.search(rest)) and sum(ch.isdigit() for ch in phone.group()) >= 9:
        add("phone")
    if _EMAIL.search(rest):
        add("e-mail address")
    if _MONEY.search(rest):
        add("money")
    letters = [ch for ch in rest if ch.isalpha()]
    if len(letters) >= 12 and sum(ch.isupper() for ch in letters) > 0.5 * len(letters):
        add("capitals")
    if website:
        add("website")
        domain = _domain(website)
        if domain:
            add(f"site:{domain}")
    else:
        add("no website")
    for word in _WORD.findall((author or "").casefold())[:6]:
        add(f"name:{word}")
    if lang and blog_lang and lang.split("-")[0].lower() != blog_lang.split("-")[0].lower():
        add("other language")
    words = [w for w in _WORD.findall(rest.casefold()) if 1 < len(w) <= 24 and not w.isdigit()]
    if urls and len(words) <= 3:
        add("link only")
    for word in words:
        add(f"w:{word}")
    for first, second in zip(words, words[1:], strict=False):
        add(f"p:{first} {second}")
    for word in words:
        plain = _deobfuscated(word)
        if plain != word:
            add(f"w:{plain}")
        if plain.isalpha() and len(plain) > STEM:
            add(f"s:{plain[:STEM]}")
    return list(found)


def _deobfuscated(word: str) -> str:
    """The word a spammer hid behind digits ("ch3ck" -> "check", "subscr1be" -> "subscribe"),
    or the word itself when it is not one ("mp3", "covid19", "b2b", "4ever")."""
    if word.isalpha() or not _LEET_INSIDE.search(word):
        return word
    plain = word.translate(_LEET)
    return plain if plain.isalpha() else word


def describe(feature: str) -> str:
    """A feature as a moderator reads it."""
    kind, _, value = feature.partition(":")
    match kind:
        case "w" | "p":
            return f"'{value}'"
        case "s":
            return f"'{value}…'"
        case "link":
            return f"link to {value}"
        case "site":
            return f"website {value}"
        case "name":
            return f"name '{value}'"
        case "links":
            return f"{value} links" if value != "1" else "1 link"
    return feature


# --- the score -------------------------------------------------------------------------------


Regression = tuple[Mapping[str, float], float]  # the features' weights, and the bias


def score(
    counts: Mapping[str, tuple[int, int]],
    spam_lessons: int,
    ham_lessons: int,
    feats: Iterable[str],
    regression: Regression | None = None,
) -> tuple[float, tuple[str, ...]]:
    """The spam probability of a comment with these features, given per-feature (spam, ham)
    lesson counts, the number of lessons of each kind and, once fitted, the regression; and its
    spam clues, the features that pushed it up most, strongest first."""
    if not spam_lessons or not ham_lessons:
        return 0.5, ()
    feats = list(feats)
    ratios: list[tuple[float, str]] = []
    for feature in feats:
        spam, ham = counts.get(feature, (0, 0))
        if spam or ham:
            ratio = (spam / spam_lessons + SMOOTHING) / (ham / ham_lessons + SMOOTHING)
            ratios.append((math.log(ratio), feature))
    ratios.sort(key=lambda clue: abs(clue[0]), reverse=True)
    ratios = ratios[:MAX_CLUES]
    if regression is None and not ratios:
        return 0.5, ()
    share = NB_SHARE if regression is not None else 1.0
    pushes: dict[str, float] = {}  # each feature's part of the log odds
    for weight, feature in ratios:
        pushes[feature] = share * SCALE * weight / len(ratios)
    log_odds = sum(pushes.values())
    if regression is not None:
        weights, bias = regression
        log_odds += (1 - share) * bias
        for feature in feats:
            if weight := weights.get(feature, 0.0):
                pushes[feature] = pushes.get(feature, 0.0) + (1 - share) * weight
                log_odds += (1 - share) * weight
    spammy = sorted(((push, f) for f, push in pushes.items() if push > 0), reverse=True)
    return _sigmoid(log_odds), tuple(feature for _, feature in spammy)


def _sigmoid(log_odds: float) -> float:
    return 1.0 / (1.0 + math.exp(-min(max(log_odds, -MAX_LOG_ODDS), MAX_LOG_ODDS)))


def fit(lessons: Sequence[tuple[str, Sequence[str]]], seed: int = 1) -> Regression:
    """The regression's weights and bias fitted to labelled feature lists by stochastic gradient
    descent (the same lessons give the same weights in every process)."""
    index: dict[str, int] = {}
    rows = [
        (1.0 if label == SPAM else 0.0, [index.setdefault(f, len(index)) for f in feats])
        for label, feats in lessons
    ]
    weights = [0.0] * len(index)
    bias = 0.0
    order = random.Random(seed)  # noqa: S311  (a fixed order of lessons, not crypto)
    epochs = max(MIN_EPOCHS, min(EPOCHS, MAX_STEPS // max(len(rows), 1)))
    for epoch in range(epochs):
        order.shuffle(rows)
        step = RATE / (1 + 0.1 * epoch)
        decay = 1 - step * L2
        for target, features_of in rows:
            log_odds = bias
            for i in features_of:
                log_odds += weights[i]
            gradient = step * (_sigmoid(log_odds) - target)
            bias -= gradient
            for i in features_of:
                weights[i] = weights[i] * decay - gradient
    return {feature: weights[i] for feature, i in index.items()}, bias


def count_model(
    lessons: Iterable[tuple[str, Iterable[str]]],
) -> tuple[dict[str, tuple[int, int]], int, int]:
    """Naive Bayes's counts of labelled feature lists: per feature (spam, ham), and the number
    of spam and ham lessons."""
    counts: dict[str, list[int]] = {}
    kinds: Counter[str] = Counter()
    for label, feats in lessons:
        kinds[label] += 1
        for feature in feats:
            counts.setdefault(feature, [0, 0])[0 if label == SPAM else 1] += 1
    frozen = {feature: (spam, ham) for feature, (spam, ham) in counts.items()}
    return frozen, kinds[SPAM], kinds[HAM]


# --- the model in the database -----------------------------------------------------------------

# A row no real feature can be: in how many spam and ham lessons it was "seen" is how many
# lessons of each kind there are, kept by the same statements that keep the features' counts.
TOTAL = "*"
_FEATURE_COUNTS = select(
    SpamFeature.feature, SpamFeature.spam, SpamFeature.ham, SpamFeature.weight
).where(SpamFeature.feature.in_(bindparam("features", expanding=True)))


def lesson_counts(session: Session) -> tuple[int, int]:
    """How many spam and how many ham lessons the model holds."""
    row = session.get(SpamFeature, TOTAL)
    return (row.spam, row.ham) if row is not None else (0, 0)


def classify(
    session: Session,
    settings: Settings,
    *,
    text: str,
    author: str | None,
    website: str | None,
    lang: str | None = None,
    lessons: tuple[int, int] | None = None,
) -> Verdict | None:
    """The filter's verdict on a comment, or None when it is off. One read of the features'
    counts, none when `lessons` (the spam and ham lessons, read by the caller) show that no
    feature can move the score yet."""
    if settings.spam_filter == "off":
        return None
    if lessons is not None and not min(lessons):
        probability, clues = score({}, *lessons, ())
        return Verdict(score=probability, clues=clues, active=False)
    feats = features(text, author=author, website=website, lang=lang, blog_lang=settings.language)
    counts, weights = {}, {}
    for row in session.connection().execute(_FEATURE_COUNTS, {"features": [TOTAL, *feats]}):
        counts[row.feature] = (row.spam, row.ham)
        if row.weight is not None:
            weights[row.feature] = row.weight
    spam_lessons, ham_lessons = counts.pop(TOTAL, (0, 0))
    bias = weights.pop(TOTAL, None)  # the total's weight is the bias, once fitted
    regression = (weights, bias) if bias is not None else None
    probability, clues = score(counts, spam_lessons, ham_lessons, feats, regression)
    active = settings.spam_filter == "on" and min(spam_lessons, ham_lessons) >= MIN_LESSONS
    return Verdict(score=probability, clues=clues, active=active)


def _add(session: Session, feats: Iterable[str], label: str, step: int) -> None:
    """Add `step` (1 or -1) to each feature's count of `label` lessons, and to the total."""
    feats = list(dict.fromkeys([TOTAL, *feats]))
    column = SpamFeature.spam if label == SPAM else SpamFeature.ham
    if step < 0:
        session.execute(
            update(SpamFeature)
            .where(SpamFeature.feature.in_(feats))
            .values({column: case((column > 0, column - 1), else_=0)})
        )
        # A feature no lesson holds any more goes, words and names with it (an erased
        # commenter's name must not stay behind as a row of zero counts).
        session.execute(
            delete(SpamFeature).where(
                SpamFeature.feature.in_(feats),
                SpamFeature.feature != TOTAL,
                SpamFeature.spam == 0,
                SpamFeature.ham == 0,
            )
        )
        return
    _add_counted(session, Counter((feature, label) for feature in feats))


def _add_counted(session: Session, counted: Counter[tuple[str, str]]) -> None:
    """Add many lessons' features at once: (feature, label) -> how many lessons."""
    totals: dict[str, list[int]] = {}
    for (feature, label), n in counted.items():
        totals.setdefault(feature, [0, 0])[0 if label == SPAM else 1] += n
    insert = upsert_insert(session.get_bind().dialect.name)
    items = list(totals.items())
    for start in range(0, len(items), 500):
        chunk = items[start : start + 500]
        statement = insert(SpamFeature).values(
            [{"feature": f, "spam": spam, "ham": ham} for f, (spam, ham) in chunk]
        )
        statement = statement.on_conflict_do_update(
            index_elements=["feature"],
            set_={
                "spam": SpamFeature.spam + statement.excluded.spam,
                "ham": SpamFeature.ham + statement.excluded.ham,
            },
        )
        session.execute(statement)


def comment_features(comment: Comment, settings: Settings) -> list[str]:
    return features(
        comment.text,
        author=comment.author,
        website=comment.website,
        lang=comment.lang,
        blog_lang=settings.language,
    )


def teach(session: Session, settings: Settings, comment: Comment, label: str | None) -> None:
    """Record a moderator's decision on a comment: `label` spam or ham, or None to take back
    what the comment taught. A comment teaches one lesson at most: a new decision replaces
    the earlier one, so changing one's mind never counts twice."""
    if settings.spam_filter == "off":
        return
    lesson = session.execute(
        select(SpamLesson).where(SpamLesson.comment_id == comment.id)
    ).scalar_one_or_none()
    if lesson is not None:
        if lesson.label == label:
            return
        _add(session, json.loads(lesson.features), lesson.label, -1)
        session.delete(lesson)
        session.flush()
        _changed(session)
    if label is None:
        return
    _changed(session)
    feats = comment_features(comment, settings)
    _add(session, feats, label, 1)
    lesson = SpamLesson(
        comment_id=comment.id,
        label=label,
        source="moderator",
        features=json.dumps(feats),
        created=utcnow(),
    )
    session.add(lesson)
    session.flush()
    if lesson.id % PRUNE_CHECK_EVERY == 0:
        prune(session)


def prune(session: Session, limit: int | None = None) -> int:
    """Drop the features seen in one lesson only when the model has grown beyond `limit`
    rows (MAX_STORED_FEATURES); how many were dropped."""
    limit = MAX_STORED_FEATURES if limit is None else limit
    rows = session.execute(select(func.count()).select_from(SpamFeature)).scalar_one()
    if rows <= limit:
        return 0
    return (
        cast(
            "CursorResult[Any]",
            session.execute(
                delete(SpamFeature).where(
                    SpamFeature.feature != TOTAL, SpamFeature.spam + SpamFeature.ham <= 1
                )
            ),
        ).rowcount
        or 0
    )


def train(
    session: Session, examples: Iterable[tuple[str, str, str | None]], source: str = "file"
) -> Counter[str]:
    """Learn from labelled examples (text, label, author); how many of each label."""
    learned: Counter[str] = Counter()
    counted: Counter[tuple[str, str]] = Counter()
    now = utcnow()
    for text, label, author in examples:
        feats = features(text, author=author)
        counted.update((feature, label) for feature in [TOTAL, *feats])
        session.add(
            SpamLesson(
                comment_id=None, label=label, source=source, features=json.dumps(feats), created=now
            )
        )
        learned[label] += 1
    _add_counted(session, counted)
    prune(session)
    if learned:
        _changed(session)
    return learned


def forget(session: Session, comment_ids: Sequence[int]) -> int:
    """Take back the lessons of these comments (their authors' data is being erased); how many."""
    lessons = (
        session.execute(select(SpamLesson).where(SpamLesson.comment_id.in_(list(comment_ids))))
        .scalars()
        .all()
        if comment_ids
        else []
    )
    for lesson in lessons:
        _add(session, json.loads(lesson.features), lesson.label, -1)
        session.delete(lesson)
    if lessons:
        _changed(session)
    return len(lessons)


_LABELS = {"spam": SPAM, "ham": HAM, "1": SPAM, "0": HAM}


def labelled_examples(lines: Iterable[str]) -> tuple[list[tuple[str, str, str | None]], list[str]]:
    """The (text, label, author) examples of a labelled CSV file, and a line for each row
    refused. Columns `text,label` (label spam or ham; `author` optional), or the YouTube Spam
    Collection's `CONTENT,CLASS` (1 spam, 0 ham; `AUTHOR`)."""
    import csv

    reader = csv.DictReader(lines)
    columns = {name.strip().lower(): name for name in reader.fieldnames or ()}
    text_column = columns.get("text") or columns.get("content")
    label_column = columns.get("label") or columns.get("class")
    if not text_column or not label_column:
        raise BadTrainingFile(
            "the file needs a header with the columns text,label "
            "(or CONTENT,CLASS as in the YouTube Spam Collection)"
        )
    author_column = columns.get("author")
    examples, refused = [], []
    try:
        for row in reader:
            label = _LABELS.get((row.get(label_column) or "").strip().lower())
            text = (row.get(text_column) or "").strip()
            if label is None or not text:
                why = (
                    "no text" if not text else f"label {row.get(label_column)!r} is not spam or ham"
                )
                refused.append(f"line {reader.line_num}: {why}")
                continue
            examples.append(
                (text, label, (row.get(author_column) or None) if author_column else None)
            )
    except csv.Error as exc:
        raise BadTrainingFile(f"line {reader.line_num}: {exc}") from None
    return examples, refused


def reset(session: Session) -> None:
    session.execute(delete(SpamLesson))
    session.execute(delete(SpamFeature))
    session.execute(delete(SpamModel))


# --- the regression's fit ----------------------------------------------------------------------

CHANGED = "commentsvc.spam_lessons_changed"  # session.info flag: this transaction changed lessons
MODEL_ID = 1


def _changed(session: Session) -> None:
    """Count a change of the lessons (the regression is stale until refitted), and flag the
    transaction so that its commit starts a refit in the background."""
    insert = upsert_insert(session.get_bind().dialect.name)
    statement = insert(SpamModel).values(id=MODEL_ID, changes=1)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["id"], set_={"changes": SpamModel.changes + 1}
        )
    )
    session.info[CHANGED] = True


def stale(session: Session) -> bool:
    """Whether lessons changed since the regression was last fitted."""
    state = session.get(SpamModel, MODEL_ID)
    return state is not None and state.fitted_changes != state.changes


def refit(session: Session) -> float | None:
    """Fit the regression to every stored lesson and store its weights, and measure it on
    held-back lessons; seconds taken, or None when nothing changed since the last fit. Commits:
    the lessons are read in one transaction and the weights written in another, so the fit
    itself holds no lock."""
    state = session.get(SpamModel, MODEL_ID)
    if state is None or state.fitted_changes == state.changes:
        session.commit()
        return None
    changes = state.changes
    lessons = [
        (label, json.loads(feats))
        for label, feats in session.execute(
            select(SpamLesson.label, SpamLesson.features).order_by(SpamLesson.id)
        )
    ]
    session.commit()
    began = time.perf_counter()
    weights, bias = fit(lessons)
    held_back = held_back_scores(lessons)
    seconds = time.perf_counter() - began
    table = cast("Table", SpamFeature.__table__)
    session.execute(update(table).values(weight=None))
    stored = [{"f": feature, "w": weight} for feature, weight in weights.items() if weight]
    if stored:
        session.execute(
            update(table).where(table.c.feature == bindparam("f")).values(weight=bindparam("w")),
            stored,
        )
    session.execute(update(table).where(table.c.feature == TOTAL).values(weight=bias))
    session.execute(
        update(SpamModel)
        .where(SpamModel.id == MODEL_ID)
        .values(
            fitted_changes=changes,  # a lesson taught meanwhile leaves the model stale
            fitted=utcnow(),
            fit_seconds=seconds,
            held_back=json.dumps([[label == SPAM, round(p, 5)] for label, p in held_back]),
            refitting_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return seconds


def claim_refit(session: Session) -> bool:
    """Take the refit for this process, unless the model is fresh or another process is at it
    (a claim lapses after REFIT_CLAIM, should its process die). Commits."""
    now = utcnow()
    result = session.execute(
        update(SpamModel)
        .where(
            SpamModel.id == MODEL_ID,
            or_(SpamModel.fitted_changes.is_(None), SpamModel.fitted_changes != SpamModel.changes),
            or_(SpamModel.refitting_until.is_(None), SpamModel.refitting_until < now),
        )
        .values(refitting_until=now + REFIT_CLAIM)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(cast("CursorResult[Any]", result).rowcount)


def release_refit(session: Session) -> None:
    """Give up this process's claim on the refit (it failed). Commits."""
    session.execute(
        update(SpamModel)
        .where(SpamModel.id == MODEL_ID)
        .values(refitting_until=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()


log = logging.getLogger(__name__)
_refitter: dict[str, Any] = {"thread": None, "pid": None}
_refit_lock = threading.Lock()
_refit_wanted = threading.Event()


def _refit_in_background(app: Flask) -> None:
    """This process's refitter: wait for a burst of lessons to end, refit, and again while
    lessons keep changing."""
    while True:
        time.sleep(settings_of(app).spam_filter_refit_delay)
        with _refit_lock:
            if not _refit_wanted.is_set():
                _refitter["thread"] = None
                return
            _refit_wanted.clear()
        try:
            with app.app_context():
                session = db.session()
                try:
                    if claim_refit(session):
                        try:
                            seconds = refit(session)
                        except Exception:
                            session.rollback()
                            release_refit(session)  # the next decision need not wait for it
                            raise
                        if seconds is not None:
                            log.info("spam filter: refitted in %.2f s", seconds)
                finally:
                    db.session.remove()
        except Exception:
            log.exception("spam filter: the refit failed; the next lesson tries again")


def refit_after_commit(session: Session) -> None:
    """After a commit that changed lessons, have this process refit a little later (a command
    refits before it ends, if it means to: its process does not live on)."""
    if not session.info.pop(CHANGED, False) or not has_request_context():
        return
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.testing and not app.config.get("SPAM_REFIT_IN_TESTS"):
        return  # tests refit when they mean to
    with _refit_lock:
        _refit_wanted.set()
        thread = _refitter["thread"]
        if thread is not None and _refitter["pid"] == os.getpid() and thread.is_alive():
            return
        thread = threading.Thread(
            target=_refit_in_background, args=(app,), name="commentsvc-spam-refit", daemon=True
        )
        _refitter.update(thread=thread, pid=os.getpid())
        thread.start()


def forget_change_on_rollback(session: Session) -> None:
    session.info.pop(CHANGED, None)


def init_app(app: Flask) -> None:
    if not event.contains(Session, "after_commit", refit_after_commit):
        event.listen(Session, "after_commit", refit_after_commit)
        event.listen(Session, "after_rollback", forget_change_on_rollback)


# --- what it has learned, and how well it does ------------------------------------------------


@dataclass(frozen=True)
class Accuracy:
    tested: int  # held-back lessons scored
    spam_caught: float  # share of held-back spam at or above the hold threshold
    ham_flagged: float  # share of held-back ham at or above it
    accuracy: float


def held_back_scores(
    lessons: Sequence[tuple[str, Sequence[str]]], folds: int = FOLDS
) -> list[tuple[str, float]]:
    """Cross-validation on the stored lessons: each lesson's label and its score by a model
    (counts and regression) built from the other folds; empty with too few lessons of a kind.
    From ALL_FOLDS_BELOW lessons on, only the first fold is held back (a fifth of the lessons,
    at least 1,000, for a fifth of the time)."""
    spam_total = sum(1 for label, _ in lessons if label == SPAM)
    if min(spam_total, len(lessons) - spam_total) < folds * 2:
        return []
    out = []
    for fold in range(folds if len(lessons) < ALL_FOLDS_BELOW else 1):
        rest = [lesson for n, lesson in enumerate(lessons) if n % folds != fold]
        counts, spam_n, ham_n = count_model(rest)
        regression = fit(rest)
        for label, feats in lessons[fold::folds]:
            out.append((label, score(counts, spam_n, ham_n, feats, regression)[0]))
    return out


def accuracy_at(scores: Sequence[tuple[str, float]], hold: float) -> Accuracy | None:
    """How held-back lessons fare at the hold threshold; None when there are none."""
    spam_total = sum(1 for label, _ in scores if label == SPAM)
    ham_total = len(scores) - spam_total
    if not spam_total or not ham_total:
        return None
    caught = sum(1 for label, p in scores if label == SPAM and p >= hold)
    flagged = sum(1 for label, p in scores if label != SPAM and p >= hold)
    return Accuracy(
        tested=len(scores),
        spam_caught=caught / spam_total,
        ham_flagged=flagged / ham_total,
        accuracy=(caught + ham_total - flagged) / len(scores),
    )


@dataclass(frozen=True)
class Stats:
    spam_decisions: int
    ham_decisions: int
    spam_from_files: int
    ham_from_files: int
    features: int
    size_bytes: int
    last_trained: Any
    accuracy: Accuracy | None  # of the last fit, at the hold threshold
    fitted: Any  # when the regression was last fitted, or None
    fit_seconds: float | None
    stale: bool  # lessons changed since that fit
    spam_signs: list[str] = field(default_factory=list)  # the heaviest weights, described
    real_signs: list[str] = field(default_factory=list)  # the lightest (most negative) ones


def stats(session: Session, hold: float) -> Stats:
    rows = session.execute(
        select(SpamLesson.source, SpamLesson.label, func.count()).group_by(
            SpamLesson.source, SpamLesson.label
        )
    ).all()
    by = {(source, label): n for source, label, n in rows}
    feature_rows, feature_bytes = session.execute(
        select(func.count(), func.coalesce(func.sum(func.length(SpamFeature.feature)), 0))
    ).one()
    state = session.get(SpamModel, MODEL_ID)
    held_back = [
        (SPAM if spam else HAM, p)
        for spam, p in json.loads(state.held_back if state and state.held_back else "[]")
    ]
    return Stats(
        spam_signs=strongest(session, spam=True),
        real_signs=strongest(session, spam=False),
        spam_decisions=by.get(("moderator", SPAM), 0),
        ham_decisions=by.get(("moderator", HAM), 0),
        spam_from_files=by.get(("file", SPAM), 0),
        ham_from_files=by.get(("file", HAM), 0),
        features=max(feature_rows - 1, 0),
        size_bytes=int(feature_bytes) + 16 * feature_rows,
        last_trained=session.execute(select(func.max(SpamLesson.created))).scalar(),
        accuracy=accuracy_at(held_back, hold),
        fitted=state.fitted if state else None,
        fit_seconds=state.fit_seconds if state else None,
        stale=stale(session),
    )


def strongest(session: Session, *, spam: bool, n: int = SHOWN_SIGNS) -> list[str]:
    """What the fitted regression weighs most towards spam (or towards a real comment), as a
    moderator reads it; empty before the first fit."""
    weight = SpamFeature.weight
    rows = session.execute(
        select(SpamFeature.feature)
        .where(SpamFeature.feature != TOTAL, weight > 0 if spam else weight < 0)
        .order_by(weight.desc() if spam else weight.asc(), SpamFeature.feature)
        .limit(n)
    ).scalars()
    return [describe(feature) for feature in rows]


@dataclass
class Day:
    day: date
    held: int = 0
    marked: int = 0
    overturned: int = 0  # of those, approved by a moderator afterwards


@dataclass
class Activity:
    days: list[Day] = field(default_factory=list)

    @property
    def acted(self) -> int:
        return sum(day.held + day.marked for day in self.days)

    @property
    def overturned(self) -> int:
        return sum(day.overturned for day in self.days)

    @property
    def false_positive_rate(self) -> float | None:
        return self.overturned / self.acted if self.acted else None


def activity(session: Session, days: int = 30) -> Activity:
    """What the filter held and marked in the last `days` days (by day posted), and how many of
    those the moderators overturned by approving them."""
    today = utcnow().date()
    first = today - timedelta(days=days - 1)
    out = Activity(days=[Day(first + timedelta(days=n)) for n in range(days)])
    rows = session.execute(
        select(Comment.created, Comment.filter_action, SpamLesson.label)
        .outerjoin(SpamLesson, SpamLesson.comment_id == Comment.id)
        .where(
            Comment.filter_action.is_not(None),
            Comment.created >= datetime.combine(first, datetime.min.time(), UTC),
        )
    )
    for created, action, label in rows:
        index = (created.date() - first).days
        if not 0 <= index < days:
            continue
        day = out.days[index]
        if action == "spam":
            day.marked += 1
        else:
            day.held += 1
        day.overturned += label == HAM
    return out
