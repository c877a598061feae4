"""The display rules the widget, count.js and the no-JS page share: nesting and count wording.

The scripts hold the same rules in JavaScript (NESTING_DEPTH and pluralForm in embed.js, label in
count.js); tests/test_display_rules.py runs them under Node and checks that all three agree.
"""

import json
from functools import cache

from babel import Locale
from babel.numbers import format_decimal

from commentsvc.widget.assets import LANGUAGES, STATIC_DIR

NESTING_DEPTH = 4  # levels shown; deeper replies sit beside their parent, "in reply to" it
# English is written into embed.js and count.js; every other language is in i18n/<tag>.json,
# the widget's own catalogues, so a count reads the same with JavaScript or without.
ENGLISH_COUNT = {"none": "No comments", "one": "{n} comment", "other": "{n} comments"}


@cache
def count_forms(tag: str) -> dict[str, str]:
    """The forms of "N comments" in a language: "none" for zero, and its CLDR categories."""
    if tag not in LANGUAGES:
        return ENGLISH_COUNT
    catalogue = json.loads((STATIC_DIR / "i18n" / f"{tag}.json").read_text(encoding="utf-8"))
    forms: dict[str, str] = catalogue["count"]
    return forms


def count_label(n: int, tag: str) -> str:
    """ "No comments", "1 comment" or "N comments" in the language `tag`, as the widget says it."""
    forms = count_forms(tag)
    locale = Locale.parse(tag, sep="-")
    form = (n == 0 and forms.get("none")) or forms.get(locale.plural_form(n)) or forms["other"]
    return form.replace("{n}", format_decimal(n, locale=locale))
