"""One set of display rules: the no-JS page nests replies and words counts as the widget and
count.js do. The scripts' own functions run under Node, as they are served (minified), through
tests/widget_unit/display_rules.mjs."""

import json
import os
import shutil
import subprocess

import pytest

from commentsvc.widget import assets
from commentsvc.widget.display import NESTING_DEPTH, count_label
from commentsvc.widget.pages import layout

from .conftest import REPO, need

# Below 1,000, where grouping digits cannot differ between a browser's and babel's CLDR data.
NUMBERS = list(range(1000))
LANGUAGES = ["en", *assets.LANGUAGES]


def comment(id_: int, *replies: dict) -> dict:
    return {"id": id_, "status": "approved", "author": f"Reader {id_}", "replies": list(replies)}


def chain(first: int, length: int) -> list[dict]:
    return [comment(first, *chain(first + 1, length - 1))] if length else []


# Branches at every depth, a chain past the nesting depth, and comments after deep ones.
THREAD = [
    comment(
        1,
        comment(
            2, comment(3, comment(4, comment(5), comment(6, comment(7))), comment(8)), comment(9)
        ),
        comment(10),
    ),
    *chain(20, 9),
    comment(40),
]


@pytest.fixture(scope="module")
def scripts(tmp_path_factory) -> dict:
    """What the served embed.js and count.js make of THREAD and of NUMBERS in every language."""
    node = shutil.which("node")
    need(node is not None, "Node.js is not installed (the widget's rules run on it)")
    served = tmp_path_factory.mktemp("served")
    for name in ("embed.js", "count.js"):
        (served / name).write_bytes(assets.minified(assets.STATIC_DIR / name))
    done = subprocess.run(
        [node, str(REPO / "tests" / "widget_unit" / "display_rules.mjs")],
        input=json.dumps({"thread": THREAD, "numbers": NUMBERS}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "WIDGET_SCRIPTS": str(served)},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def shown(entries, depth: int = 0) -> list[list]:
    """The no-JS page's layout as [id, depth, id of the comment it is "in reply to"]."""
    rows = []
    for entry in entries:
        marker = entry.in_reply_to["id"] if entry.in_reply_to else None
        rows.append([entry.comment["id"], depth, marker])
        rows.extend(shown(entry.replies, depth + 1))
    return rows


def test_the_thread_is_laid_out_as_the_widget_lays_it_out(scripts):
    page = shown(layout(THREAD))
    assert page == scripts["layout"]
    assert max(depth for _, depth, _ in page) == NESTING_DEPTH - 1
    assert [row for row in page if row[0] in (24, 25)] == [[24, 3, 23], [25, 3, 24]]


@pytest.mark.parametrize("tag", LANGUAGES)
def test_counts_are_worded_as_the_widget_and_count_js_word_them(scripts, tag):
    page = [count_label(n, tag) for n in NUMBERS]
    assert page == scripts["widget"][tag]
    assert page == scripts["count"][tag]


def test_english_counts():
    assert [count_label(n, "en") for n in (0, 1, 2, 1000)] == [
        "No comments",
        "1 comment",
        "2 comments",
        "1,000 comments",
    ]


@pytest.mark.parametrize(
    ("lang", "heading"), [("es", "No hay comentarios"), ("ja", "コメントはありません")]
)
def test_the_no_js_page_heads_a_thread_with_the_widgets_words(client, lang, heading):
    # (these two used to differ: the page had words of its own)
    page = client.get("/comments", query_string={"uri": "/display-rules.html", "lang": lang})
    assert f'<h2 class="csvc-count">{heading}</h2>' in page.get_data(as_text=True)
