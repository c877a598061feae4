"""How well the local spam filter tells spam apart, how fast it is, and how large it grows.

1. The YouTube Spam Collection (../shared/corpora/spam/, five files of labelled comments): for
   each file, train on the other four and test on it. Printed per fold and as mean and spread:
   the share of spam marked or held, and of real comments marked or held, at the default
   thresholds (and, for spam, the share marked outright).
2. Blog comments (tests/data/blog_comments.csv, written for this project: support-number
   spam, SEO links, praise with a link, and real readers' comments): five folds, each fifth
   tested on a model trained on the other four fifths; and, to show how far lessons carry
   across kinds of sites, tested on a model trained on YouTube comments alone.
3. Speed and size, through the database as the service runs it (SQLite file): the model
   trained on all five YouTube files and the blog comments and fitted, then `classify` timed
   on every comment, and the size of the model's tables.
4. With --compare: naive Bayes alone, the regression alone and both together (the service's
   score) at 2 % of real comments held, with the threshold chosen honestly inside the training
   files.

Usage: .venv/bin/python bench/spam_filter_bench.py [--hold 0.9] [--spam 0.995]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # measure this tree, not whatever the venv points at

from commentsvc import create_app, spamfilter  # noqa: E402
from commentsvc.config import SETTINGS, settings_of  # noqa: E402
from commentsvc.extensions import db  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpora" / "spam"
BLOG = ROOT / "tests" / "data" / "blog_comments.csv"
DEFAULTS = {setting.key: setting.default for setting in SETTINGS}

Example = tuple[str, str, str | None, str | None]  # text, label, author, website


def youtube_files() -> list[tuple[str, list[Example]]]:
    files = sorted(CORPUS.glob("Youtube0*.csv"))
    if not files:
        raise SystemExit(f"no labelled comments under {CORPUS}")
    out = []
    for path in files:
        with path.open(encoding="utf-8-sig", newline="") as lines:
            examples, _ = spamfilter.labelled_examples(lines)
        out.append((path.stem, [(text, label, author, None) for text, label, author in examples]))
    return out


def blog_comments() -> list[Example]:
    with BLOG.open(encoding="utf-8", newline="") as lines:
        return [
            (row["text"], row["label"], row["author"] or None, row["website"] or None)
            for row in csv.DictReader(lines)
        ]


def featurised(examples: list[Example]) -> list[tuple[str, list[str]]]:
    return [
        (label, spamfilter.features(text, author=author, website=website))
        for text, label, author, website in examples
    ]


def scored(train, test) -> list[tuple[str, float]]:
    """The service's scores (naive Bayes and the regression together) of a model of `train`."""
    counts, spam_n, ham_n = spamfilter.count_model(train)
    regression = spamfilter.fit(train)
    return [
        (label, spamfilter.score(counts, spam_n, ham_n, feats, regression)[0])
        for label, feats in test
    ]


def bayes_scored(train, test) -> list[tuple[str, float]]:
    """Naive Bayes alone, as the service scores before its first fit."""
    counts, spam_n, ham_n = spamfilter.count_model(train)
    return [(label, spamfilter.score(counts, spam_n, ham_n, feats)[0]) for label, feats in test]


def regression_scored(train, test) -> list[tuple[str, float]]:
    """The regression alone."""
    weights, bias = spamfilter.fit(train)
    return [
        (label, spamfilter._sigmoid(bias + sum(weights.get(f, 0.0) for f in feats)))
        for label, feats in test
    ]


def shares(pairs: list[tuple[str, float]], threshold: float) -> tuple[float, float]:
    """Share of spam, and of real comments, scoring at or above the threshold."""
    spam = [score for label, score in pairs if label == spamfilter.SPAM]
    ham = [score for label, score in pairs if label != spamfilter.SPAM]
    return (
        sum(s >= threshold for s in spam) / len(spam),
        sum(s >= threshold for s in ham) / len(ham),
    )


def rates(train, test, hold: float, mark: float) -> tuple[float, float, float]:
    """Share of spam held or marked, of spam marked, of ham held or marked."""
    pairs = scored(train, test)
    (caught, flagged), (marked, _) = shares(pairs, hold), shares(pairs, mark)
    return caught, marked, flagged


THRESHOLDS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999)


def trade_offs(title: str, pairs: list[tuple[str, float]]) -> None:
    """What each threshold would hold (pooled over the folds): spam caught, real comments."""
    print(
        f"  {title}: at threshold "
        + "  ".join(f"{t}: {s:.0%}/{h:.1%}" for t in THRESHOLDS for s, h in [shares(pairs, t)])
        + "  (spam caught / real comments caught)"
    )


def spread(values: list[float]) -> str:
    return (
        f"{statistics.mean(values):6.1%} (min {min(values):.1%}, max {max(values):.1%}, "
        f"sd {statistics.pstdev(values):.1%})"
    )


def quality(hold: float, mark: float) -> tuple[list[Example], list[Example]]:
    files = youtube_files()
    data = {name: featurised(examples) for name, examples in files}
    print(
        f"YouTube Spam Collection, train on four files, test on the fifth "
        f"(hold at {hold}, mark spam at {mark})"
    )
    print(
        f"  {'test file':<22} {'spam held/marked':>17} {'spam marked':>12} {'real held/marked':>17}"
    )
    caught, marked, flagged, pooled = [], [], [], []
    for name, test in data.items():
        train = [item for other, items in data.items() if other != name for item in items]
        pairs = scored(train, test)
        pooled += pairs
        (c, f), (m, fm) = shares(pairs, hold), shares(pairs, mark)
        caught.append(c), marked.append(m), flagged.append(f)
        print(f"  {name:<22} {c:17.1%} {m:12.1%} {f:17.1%}   (real marked spam: {fm:.1%})")
    print(f"  spam held or marked:  {spread(caught)}")
    print(f"  spam marked outright: {spread(marked)}")
    print(f"  real held or marked:  {spread(flagged)}")
    trade_offs("pooled", pooled)

    blog = featurised(blog_comments())
    print(
        f"\nBlog comments ({len(blog)}, "
        f"{sum(1 for label, _ in blog if label == 'spam')} spam), five folds"
    )
    caught, marked, flagged, pooled = [], [], [], []
    for fold in range(5):
        test = blog[fold::5]
        train = [item for n, item in enumerate(blog) if n % 5 != fold]
        pairs = scored(train, test)
        pooled += pairs
        (c, f), (m, fm) = shares(pairs, hold), shares(pairs, mark)
        caught.append(c), marked.append(m), flagged.append(f)
        print(
            f"  {f'fold {fold + 1}':<22} {c:17.1%} {m:12.1%} {f:17.1%}"
            f"   (real marked spam: {fm:.1%})"
        )
    trade_offs("pooled", pooled)
    print(f"  spam held or marked:  {spread(caught)}")
    print(f"  spam marked outright: {spread(marked)}")
    print(f"  real held or marked:  {spread(flagged)}")
    youtube_all = [item for items in data.values() for item in items]
    c, m, f = rates(youtube_all, blog, hold, mark)
    print(
        f"  trained on YouTube only: spam held or marked {c:.1%}, marked {m:.1%}, "
        f"real held or marked {f:.1%}"
    )
    return [example for _, examples in files for example in examples], blog_comments()


def speed_and_size(youtube: list[Example], blog: list[Example]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
                "SECRET_KEY": "bench-" + "k" * 40,
                "MAIL_BACKGROUND": False,
            }
        )
        with app.app_context():
            db.create_all()
            began = time.perf_counter()
            spamfilter.train(db.session, [(t, label, a) for t, label, a, _ in youtube + blog])
            db.session.commit()
            trained = time.perf_counter() - began
            began = time.perf_counter()
            fit_seconds = spamfilter.refit(db.session)
            refitted = time.perf_counter() - began
            config = replace(settings_of(app), language="en")
            times = []
            for text, _, author, website in youtube + blog:
                began = time.perf_counter()
                spamfilter.classify(db.session, config, text=text, author=author, website=website)
                times.append((time.perf_counter() - began) * 1000)
            learned = spamfilter.stats(db.session, DEFAULTS["SPAM_FILTER_HOLD"])
            db.session.remove()
            db.engine.dispose()
        size = (Path(tmp) / "bench.sqlite3").stat().st_size
    times.sort()
    print(f"\nSpeed and size (SQLite, model of {len(youtube) + len(blog):,} lessons)")
    print(f"  training:        {trained * 1000:,.0f} ms (the counts)")
    print(
        f"  refit:           {refitted * 1000:,.0f} ms in all, of which "
        f"{fit_seconds * 1000:,.0f} ms fitting (once on all lessons, and "
        f"{spamfilter.FOLDS} times to hold a fifth back)"
    )
    print(
        f"  classify:        median {statistics.median(times):.3f} ms, "
        f"p99 {times[int(len(times) * 0.99)]:.3f} ms, max {times[-1]:.3f} ms "
        f"({len(times):,} comments, one indexed read each)"
    )
    print(
        f"  model:           {learned.features:,} features, about "
        f"{learned.size_bytes / 1024:,.0f} KiB of counts; database file {size / 1024:,.0f} KiB "
        "(with the stored lessons)"
    )


# --- a comparison: each scorer alone and both together ----------------------------------------

REAL_AT_MOST = 0.02  # the target's share of real comments held or marked


def lowest_threshold(folds: list[list[tuple[str, float]]]) -> float:
    """The lowest threshold at which the folds hold at most 2 % of real comments on average."""
    for step in range(200, 1000):
        threshold = step / 1000
        if statistics.mean(shares(pairs, threshold)[1] for pairs in folds) <= REAL_AT_MOST:
            return threshold
    return 1.0


def compare() -> None:
    """Spam caught on each YouTube file at 2 % of real comments: one threshold for all five
    folds, and (honestly) one chosen for each test file inside its four training files."""
    data = {name: featurised(examples) for name, examples in youtube_files()}
    names = list(data)
    print("\nEach scorer alone and both together (the service), at 2 % of real comments held")
    for title, scorer in (
        ("naive Bayes", bayes_scored),
        ("regression", regression_scored),
        ("both (the service)", scored),
    ):
        folds = [
            scorer([x for other in names if other != name for x in data[other]], data[name])
            for name in names
        ]
        threshold = lowest_threshold(folds)
        caught = [shares(pairs, threshold)[0] for pairs in folds]
        real = [shares(pairs, threshold)[1] for pairs in folds]
        honest_caught, honest_real, chosen = [], [], []
        for name, pairs in zip(names, folds, strict=True):
            inner = [
                scorer([x for o in names if o not in (name, held) for x in data[o]], data[held])
                for held in names
                if held != name
            ]
            chosen.append(lowest_threshold(inner))
            spam, ham = shares(pairs, chosen[-1])
            honest_caught.append(spam), honest_real.append(ham)
        print(
            f"  {title:<20} one threshold ({threshold:.3f}): spam {spread(caught)}, "
            f"real {statistics.mean(real):.2%}"
        )
        print(
            f"  {'':<20} chosen inside the training files ({min(chosen):.3f} to "
            f"{max(chosen):.3f}): spam {spread(honest_caught)}, "
            f"real {statistics.mean(honest_real):.2%} (max {max(honest_real):.2%})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hold", type=float, default=DEFAULTS["SPAM_FILTER_HOLD"])
    parser.add_argument("--spam", type=float, default=DEFAULTS["SPAM_FILTER_SPAM"])
    parser.add_argument(
        "--compare",
        action="store_true",
        help="only compare naive Bayes, the regression and both on the YouTube folds",
    )
    args = parser.parse_args()
    if args.compare:
        compare()
        return
    youtube, blog = quality(args.hold, args.spam)
    speed_and_size(youtube, blog)


if __name__ == "__main__":
    main()
