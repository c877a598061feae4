"""The widget and count.js in the page's language: German words and plurals, data-lang over
<html lang>, English for languages it lacks, Arabic right to left, one catalogue per page."""

import datetime as dt
import re
import uuid

import pytest
from playwright.sync_api import expect

from .conftest import serious_violations

pytestmark = pytest.mark.browser

# A sentence of each page's own, so the page and its <html lang> agree.
PAGE_TEXT = {
    "en": ("A test post", "Have you had a really difficult sale? What worked for you?"),
    "de": ("Ein Testbeitrag", "Hattest du schon einmal einen schwierigen Verkauf?"),
    "ar": ("مقالة تجريبية", "هل مررت يومًا بعملية بيع صعبة؟ ما الذي نجح معك؟"),
    "ja": ("テスト投稿", "難しい商談を経験したことはありますか？"),
    "pl": ("Wpis testowy", "Czy zdarzyła ci się naprawdę trudna sprzedaż?"),
}


def blog_page(blog, lang, body):
    """A blog page whose <html lang> is `lang`, with a heading and a sentence in it."""
    title, text = PAGE_TEXT.get(lang.split("-")[0], PAGE_TEXT["en"])
    html = f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title></head>
<body><main><h1>{title}</h1><p>{text}</p>
{body}</main></body></html>"""
    return blog.add(f"/{lang}-{uuid.uuid4().hex[:10]}.html", html)


def language_page(blog, service, uri, lang, *, data_lang=None):
    """A blog post in `lang` embedding the widget for `uri` (data-lang on #comments if given)."""
    attrs = f' data-lang="{data_lang}"' if data_lang else ""
    return blog_page(
        blog,
        lang,
        f"""<div id="comments" data-uri="{uri}"{attrs}></div>
<script src="{service.url}/embed.js" async></script>""",
    )


def wait_for_language(page, tag):
    """Wait until the widget shows its thread in the language `tag`."""
    box = page.locator("#comments .csvc")
    expect(box).to_have_attribute("lang", tag)
    expect(box).to_have_attribute("aria-busy", "false")
    expect(box).to_be_visible()
    return box


def catalogue_requests(page):
    """The i18n/*.json URLs the page asks for, as a list that fills while the test runs."""
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/i18n/" in r.url else None)
    return asked


def seed(service, uri, count, author="Lee"):
    """`count` published comments on `uri`, each with a text of its own."""
    for n in range(count):
        service.post(uri, f"Kommentar Nummer {n + 1} zu {uri}", author=author)


def test_german_page_shows_german_words_and_plurals(page, blog, service, thread_uri):
    seed(service, thread_uri, 2)
    page.goto(language_page(blog, service, thread_uri, "de"))
    wait_for_language(page, "de")
    expect(page.locator("#comments .csvc-count")).to_have_text("2 Kommentare")
    expect(page.get_by_label("Sortieren")).to_have_value("oldest")
    expect(page.locator("#comments select option")).to_have_text(
        ["Älteste zuerst", "Neueste zuerst", "Beste zuerst"]
    )
    expect(page.locator("#comments .csvc-form-title")).to_have_text("Kommentar schreiben")
    expect(page.get_by_label("Kommentar", exact=True)).to_have_attribute(
        "placeholder", "Teile deine Gedanken …"
    )
    expect(page.get_by_label("Name (optional)")).to_be_visible()
    expect(page.get_by_label("E-Mail (optional)")).to_be_visible()
    expect(page.get_by_label("Website (optional)")).to_be_visible()
    notify = "Benachrichtige mich per E-Mail, wenn jemand antwortet"
    expect(page.get_by_label(notify)).to_be_visible()
    expect(page.get_by_text("Markdown funktioniert: *kursiv*")).to_be_visible()
    expect(page.get_by_role("button", name="Vorschau")).to_be_visible()
    expect(page.get_by_role("button", name="Kommentar abschicken")).to_be_visible()
    expect(page.get_by_role("button", name="Lee antworten")).to_have_count(2)
    expect(page.get_by_role("button", name="Positiv bewerten")).to_have_count(2)
    expect(page.get_by_role("button", name="Negativ bewerten")).to_have_count(2)

    page.get_by_role("button", name="Lee antworten").first.click()
    reply_form = page.locator("#comments .csvc-reply-form")
    expect(reply_form.locator(".csvc-replying")).to_have_text("Lee antworten")
    expect(reply_form.get_by_role("button", name="Antwort abschicken")).to_be_visible()
    expect(reply_form.get_by_role("button", name="Abbrechen")).to_be_visible()


@pytest.mark.parametrize(("seeded", "heading"), [(0, "Keine Kommentare"), (1, "1 Kommentar")])
def test_german_heading_counts_in_german(page, blog, service, thread_uri, seeded, heading):
    seed(service, thread_uri, seeded)
    page.goto(language_page(blog, service, thread_uri, "de"))
    wait_for_language(page, "de")
    expect(page.locator("#comments .csvc-count")).to_have_text(heading)


def test_german_dates_are_relative_and_german(page, blog, service, thread_uri):
    seed(service, thread_uri, 1)
    # The reader's clock is three days ahead of the comment.
    page.clock.set_fixed_time(dt.datetime.now(dt.UTC) + dt.timedelta(days=3, minutes=5))
    page.goto(language_page(blog, service, thread_uri, "de"))
    wait_for_language(page, "de")
    when = page.locator("#comments article time")
    expect(when).to_have_text("vor 3 Tagen")
    weekday = r"^(Montag|Dienstag|Mittwoch|Donnerstag|Freitag|Samstag|Sonntag), \d+\. "
    expect(when).to_have_attribute("title", re.compile(weekday))


def test_german_messages_after_posting(page, blog, service, thread_uri):
    page.goto(language_page(blog, service, thread_uri, "de"))
    wait_for_language(page, "de")
    note = page.locator("#comments .csvc-main-form .csvc-status")

    page.get_by_role("button", name="Vorschau").click()
    expect(note).to_have_text("Es gibt noch nichts für eine Vorschau.")
    page.get_by_role("button", name="Kommentar abschicken").click()
    expect(note).to_have_text("Bitte schreib zuerst einen Kommentar.")

    page.get_by_label("Kommentar", exact=True).fill("Ein Kommentar auf Deutsch.")
    page.get_by_label("Name (optional)").fill("Grete")
    page.get_by_role("button", name="Kommentar abschicken").click()
    posted = page.locator("#comments article.csvc-comment", has_text="Ein Kommentar auf Deutsch.")
    expect(posted.locator(".csvc-msg")).to_have_text("Dein Kommentar ist veröffentlicht.")
    expect(posted.locator("time")).to_have_text("gerade eben")
    expect(page.locator("#comments .csvc-count")).to_have_text("1 Kommentar")

    posted.get_by_role("button", name="Löschen").click()
    confirm = posted.get_by_role("group", name="Diesen Kommentar löschen?")
    expect(confirm.get_by_role("button", name="Behalten")).to_be_visible()
    confirm.get_by_role("button", name="Ja, löschen").click()
    expect(page.locator("#comments .csvc-msg")).to_have_text("Dein Kommentar wurde gelöscht.")
    expect(page.locator("#comments .csvc-count")).to_have_text("Keine Kommentare")


def test_german_held_comment_is_counted_and_explained_in_german(
    page, blog, strict_service, thread_uri
):
    page.goto(language_page(blog, strict_service, thread_uri, "de"))
    wait_for_language(page, "de")
    page.get_by_label("Kommentar", exact=True).fill("Bitte erst prüfen.")
    page.get_by_role("button", name="Kommentar abschicken").click()
    held = page.locator("#comments article.csvc-comment", has_text="Bitte erst prüfen.")
    expect(held.locator(".csvc-msg")).to_have_text(
        "Danke! Dein Kommentar wartet auf Freigabe und ist vorerst nur für dich sichtbar."
    )
    expect(held.locator(".csvc-pending-note")).to_have_text("wartet auf Freigabe")
    expect(page.locator("#comments .csvc-count")).to_have_text(
        "1 Kommentar (1 wartet auf Freigabe)"
    )


def test_data_lang_wins_over_the_pages_language(page, blog, service, thread_uri):
    page.goto(language_page(blog, service, thread_uri, "en", data_lang="de"))
    wait_for_language(page, "de")
    expect(page.locator("#comments .csvc-count")).to_have_text("Keine Kommentare")
    expect(page.get_by_role("button", name="Kommentar abschicken")).to_be_visible()

    page.goto(language_page(blog, service, thread_uri, "de", data_lang="en"))
    wait_for_language(page, "en")
    expect(page.locator("#comments .csvc-count")).to_have_text("No comments")
    expect(page.get_by_role("button", name="Post comment")).to_be_visible()


# Traditional Chinese readers get English rather than the Simplified Chinese catalogue.
@pytest.mark.parametrize("page_lang", ["tlh", "zh-TW", "zh-Hant"])
def test_a_language_without_a_catalogue_falls_back_to_english(
    page, blog, service, thread_uri, page_lang
):
    asked = catalogue_requests(page)
    page.goto(language_page(blog, service, thread_uri, page_lang))
    box = wait_for_language(page, "en")
    expect(box).to_have_attribute("dir", "ltr")
    expect(page.locator("#comments .csvc-count")).to_have_text("No comments")
    expect(page.get_by_role("button", name="Post comment")).to_be_visible()
    assert asked == []


@pytest.mark.parametrize(
    ("page_lang", "files"),
    [
        ("en", []),
        ("de", ["de"]),
        ("de-AT", ["de"]),  # a region of a language the widget has
        ("pt", ["pt-BR"]),  # the one region of a language the widget has
    ],
)
def test_only_the_chosen_languages_catalogue_is_requested(
    page, blog, service, thread_uri, page_lang, files
):
    asked = catalogue_requests(page)
    page.goto(language_page(blog, service, thread_uri, page_lang))
    wait_for_language(page, files[0] if files else "en")
    page.get_by_role("combobox").select_option("newest")  # a reload of the thread...
    expect(page.locator("#comments .csvc")).to_have_attribute("aria-busy", "false")
    assert asked == [f"{service.url}/i18n/{tag}.json" for tag in files]  # ...asks for none


def test_arabic_page_is_right_to_left(page, blog, service, thread_uri):
    seed(service, thread_uri, 2, author="ليلى")
    page.clock.set_fixed_time(dt.datetime.now(dt.UTC) + dt.timedelta(days=3, minutes=5))
    page.goto(language_page(blog, service, thread_uri, "ar"))
    box = wait_for_language(page, "ar")
    expect(box).to_have_attribute("dir", "rtl")
    # "3 days ago", in Arabic words (with Western or Arabic-Indic digits, as the ICU has it).
    expect(page.locator("#comments article time").first).to_have_text(
        re.compile(r"^قبل [3٣] أيام$")
    )
    expect(page.locator("#comments .csvc-count")).to_have_text("تعليقان")  # the dual
    expect(page.locator("#comments .csvc-form-title")).to_have_text("اكتب تعليقًا")
    # Names inside right-to-left text are isolated (FSI ... PDI) so they keep their own order.
    expect(page.get_by_role("button", name="رد على \u2068ليلى\u2069")).to_have_count(2)
    submit = page.get_by_role("button", name="نشر التعليق")
    expect(submit).to_be_visible()

    textarea = page.get_by_label("التعليق", exact=True)
    assert textarea.evaluate("el => getComputedStyle(el).direction") == "rtl"
    # The form's buttons sit at its end, which is the left in Arabic; the heading at its start.
    area, button = textarea.bounding_box(), submit.bounding_box()
    assert button["x"] + button["width"] < area["x"] + area["width"] / 2
    heading = page.locator("#comments .csvc-count").bounding_box()
    assert heading["x"] > area["x"] + area["width"] / 2

    textarea.fill("")
    submit.click()
    expect(page.locator("#comments .csvc-main-form .csvc-status")).to_have_text(
        "يُرجى كتابة تعليق أولًا."
    )


def count_page(blog, service, lang, uris):
    """An index page in `lang` with a count link for each thread of `uris`."""
    links = "".join(
        f'<p><a id="c{n}" href="{uri}" data-comment-count="{uri}">Comments</a></p>'
        for n, uri in enumerate(uris)
    )
    return blog_page(blog, lang, f'{links}<script src="{service.url}/count.js" async></script>')


@pytest.mark.parametrize(
    ("lang", "counts"),
    [
        ("de", {0: "Keine Kommentare", 1: "1 Kommentar", 2: "2 Kommentare"}),
        ("pl", {1: "1 komentarz", 2: "2 komentarze", 5: "5 komentarzy"}),
    ],
)
def test_count_js_writes_counts_in_the_pages_language(
    page, blog, service, thread_uri, lang, counts
):
    uris = []
    for n in counts:
        uri = f"{thread_uri[:-5]}-{n}.html"
        seed(service, uri, n)
        uris.append(uri)
    asked = catalogue_requests(page)
    page.goto(count_page(blog, service, lang, uris))
    for n, words in enumerate(counts.values()):
        expect(page.locator(f"#c{n}")).to_have_text(words)
    assert asked == [f"{service.url}/i18n/{lang}.json"]


@pytest.mark.parametrize("lang", ["de", "ar", "ja", "pl"])
def test_no_serious_axe_violations_in_other_languages(
    page, blog, service, thread_uri, axe_script, lang
):
    # Texts differ from test to test: the service holds a repeated text back as a duplicate.
    service.post(thread_uri, f"A **first** comment on {thread_uri}.", author="Lee")
    page.goto(language_page(blog, service, thread_uri, lang))
    wait_for_language(page, lang)
    page.locator("#comments .csvc-actions button.csvc-link").first.click()  # a reply form
    expect(page.locator("#comments .csvc-reply-form")).to_be_visible()
    assert serious_violations(page, axe_script) == []
