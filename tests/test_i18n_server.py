"""The server's languages: complete catalogues, the language of each page, API error and mail.

Mails go to a real SMTP server (see tests/test_mail.py); pages and the API run on the real app
on SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import re
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from commentsvc import config
from commentsvc.errors import BadSetting
from commentsvc.extensions import db
from commentsvc.i18n import LANGUAGES, best_accepted
from commentsvc.models import Comment
from commentsvc.tokens import issue_form_token

from . import test_mail
from .conftest import REPO, SECRET, unique_uri
from .settings_helpers import change_settings
from .test_bad_settings import _run
from .test_links import csrf, path_of
from .test_mail import approve, html_of, send, text_of

# A real SMTP server (the `smtp` fixture) and the settings that send to it, for every test here.
pytestmark = pytest.mark.usefixtures("mail_settings")

CATALOGUES = REPO / "commentsvc" / "translations"
TEMPLATE = CATALOGUES / "messages.pot"
TRANSLATED = [language.locale for language in LANGUAGES if language.locale != "en"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
ALICE, BOB = "alice@example.org", "bob@example.org"


@pytest.fixture
def mail_overrides():
    """Comments are published at once here, unless a test holds them for the moderators."""
    return {"MODERATION": "none"}


def catalogue(locale: str):
    with open(CATALOGUES / locale / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh, locale=locale)


def template():
    with open(TEMPLATE, "rb") as fh:
        return read_po(fh)


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def visible_text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# --- the catalogues --------------------------------------------------------------------------


def test_every_supported_language_has_a_catalogue_in_the_wheel():
    on_disk = {path.parent.parent.name for path in CATALOGUES.glob("*/LC_MESSAGES/messages.po")}
    assert on_disk == set(TRANSLATED)
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    for locale in TRANSLATED:
        package = f"commentsvc.translations.{locale}.LC_MESSAGES"
        assert package in setuptools["packages"], package
        assert set(setuptools["package-data"][package]) == {"messages.po", "messages.mo"}


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_message_is_translated_with_the_same_placeholders(locale):
    translations = catalogue(locale)
    problems = []
    for message in template():
        if not message.id:
            continue
        found = translations.get(message.id)
        if found is None:
            problems.append(f"missing: {message.id!r}")
            continue
        if found.fuzzy or not all(
            found.string if isinstance(found.string, tuple) else (found.string,)
        ):
            problems.append(f"untranslated or fuzzy: {message.id!r}")
            continue
        if isinstance(message.id, tuple):
            # A form may leave the number out ("one comment" in Arabic), never add a name;
            # the last form (many, other) says everything the English plural says.
            allowed = placeholders(message.id[0]) | placeholders(message.id[1])
            if any(not placeholders(form) <= allowed for form in found.string) or placeholders(
                found.string[-1]
            ) != placeholders(message.id[1]):
                problems.append(f"placeholders: {found.string!r}")
        elif placeholders(found.string) != placeholders(message.id):
            problems.append(f"placeholders: {found.string!r}")
    assert problems == []


@pytest.mark.parametrize(
    "locale, forms", [("pl", 3), ("ar", 6), ("ja", 1), ("zh_CN", 1), ("de", 2), ("fr", 3)]
)
def test_plural_forms_are_the_languages_own(locale, forms):
    translations = catalogue(locale)
    assert translations.num_plurals == forms == get_plural(locale).num_plurals
    assert translations.plural_expr == get_plural(locale).plural_expr
    counted = translations.get(
        ("%(num)d more comment held for review", "%(num)d more comments held for review")
    )
    assert len(counted.string) == forms


@pytest.mark.parametrize("locale", TRANSLATED)
def test_the_committed_mo_files_are_their_po_files_compiled(locale):
    source = catalogue(locale)
    fresh = io.BytesIO()
    write_mo(fresh, source)
    fresh.seek(0)
    with open(CATALOGUES / locale / "LC_MESSAGES" / "messages.mo", "rb") as fh:
        committed = read_mo(fh)

    def pairs(messages):
        def frozen(value):
            return value if isinstance(value, str) else tuple(value)

        return {frozen(m.id): frozen(m.string) for m in messages if m.id}

    assert pairs(committed) == pairs(read_mo(fresh)) == pairs(source)


def test_the_template_holds_every_message_of_the_code_and_the_templates():
    with open(REPO / "babel.cfg") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    keywords = {**DEFAULT_KEYWORDS, "lazy_gettext": None}
    sources = [REPO / "commentsvc", REPO / "templates"]

    def wanted(path: str) -> bool:
        here = Path(path).resolve()
        return here == REPO or any(
            here.is_relative_to(s) or s.is_relative_to(here) for s in sources
        )

    extracted = {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(REPO), method_map, options_map, keywords=keywords, directory_filter=wanted
        )
    }
    listed = {message.id for message in template() if message.id}
    assert extracted - listed == set(), "run pybabel extract and update (README, Languages)"
    assert listed - extracted == set(), "messages no code uses any more"
    assert len(listed) > 150


# --- choosing the language -------------------------------------------------------------------


@pytest.mark.parametrize(
    "header, expected",
    [
        ("de-AT,de;q=0.9,en;q=0.5", "de"),
        ("fr-CH, fr;q=0.9", "fr"),
        ("PT-br", "pt-BR"),
        ("pt-PT", "pt-BR"),
        ("zh_CN", "zh-CN"),
        ("sv, nl;q=0.8", "nl"),
        ("*", None),
        ("de;q=0, ja", "ja"),
        ("sv", None),
        ("", None),
        ("de;q=x;;,", None),
    ],
)
def test_accept_language_picks_the_best_supported_language(header, expected):
    language = best_accepted(header)
    assert (language.tag if language else None) == expected


def make(client, uri: str, text: str, *, lang: str | None = None, **fields) -> dict:
    """Post a comment through the API, with the widget's Accept-Language."""
    headers = {"Accept-Language": lang} if lang else {}
    body = {
        "uri": uri,
        "text": text,
        "form_token": issue_form_token(SECRET, "default", uri),
        **fields,
    }
    response = client.post("/api/comments", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def set_created(app, comment_id: int, moment: datetime) -> None:
    with app.app_context():
        db.session.get(Comment, comment_id).created = moment
        db.session.execute(sa.text("UPDATE threads SET version = version + 1"))
        db.session.commit()
        db.session.remove()


@pytest.mark.parametrize("asked", ["query", "header"])
def test_the_thread_page_in_german(app, client, asked):
    uri = unique_uri()
    first = make(client, uri, "Erster!", author="Ann")
    make(client, uri, "Zweiter", author="Bob")
    set_created(app, first["id"], datetime(2008, 1, 18, 9, 14, tzinfo=UTC))
    if asked == "query":
        response = client.get("/comments", query_string={"uri": uri, "lang": "DE"})
    else:
        response = client.get(
            "/comments",
            query_string={"uri": uri},
            headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"},
        )
    html = response.get_data(as_text=True)
    text = visible_text(html)
    assert response.status_code == 200
    assert '<html lang="de" dir="ltr">' in html
    assert "2 Kommentare" in text and f"Kommentare zu {uri}" in text
    assert "Freitag, 18. Januar 2008" in text and "09:14 UTC" in text
    assert "Kommentar schreiben" in text and "Antworten" in text
    assert "Write a comment" not in text and "2 comments" not in text
    reply_link = re.search(r'href="([^"]*reply=[^"]*)"', html).group(1)
    if asked == "query":  # an asked-for language stays on the page's links and its form
        assert "lang=de" in reply_link and 'action="/comments?lang=de"' in html
    else:  # the browser's stays the browser's business
        assert "lang=" not in reply_link
        assert "Accept-Language" in response.headers["Vary"]


def test_one_comment_is_german_singular_and_english_stays_english(app, client):
    uri = unique_uri()
    make(client, uri, "Allein")
    german = visible_text(
        client.get("/comments", query_string={"uri": uri, "lang": "de"}).get_data(as_text=True)
    )
    assert "1 Kommentar zu" in german and "1 Kommentare" not in german
    english = client.get("/comments", query_string={"uri": uri}).get_data(as_text=True)
    assert '<html lang="en" dir="ltr">' in english and "1 comment on" in english


def test_the_thread_page_in_arabic_is_right_to_left(client):
    uri = unique_uri()
    make(client, uri, "أهلًا")
    make(client, uri, "مرحبًا")
    html = client.get("/comments", query_string={"uri": uri, "lang": "ar"}).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html
    assert "تعليقان" in visible_text(html)  # the dual: two comments


@pytest.mark.parametrize(
    "lang, tag", [("pt_br", "pt-BR"), ("PT-BR", "pt-BR"), ("zh_CN", "zh-CN"), ("zh-cn", "zh-CN")]
)
def test_lang_takes_either_spelling(client, lang, tag):
    html = client.get("/comments", query_string={"uri": "/x.html", "lang": lang}).get_data(
        as_text=True
    )
    assert f'<html lang="{tag}" dir="ltr">' in html


def test_an_unknown_lang_is_ignored_for_the_browsers_language(client):
    response = client.get(
        "/comments",
        query_string={"uri": "/x.html", "lang": "tlh"},
        headers={"Accept-Language": "fr"},
    )
    assert response.status_code == 200
    assert '<html lang="fr" dir="ltr">' in response.get_data(as_text=True)


def test_without_a_choice_the_page_is_in_the_configured_language(app, client):
    change_settings(app, LANGUAGE="ja")
    html = client.get("/", headers={"Accept-Language": "sv"}).get_data(as_text=True)
    assert '<html lang="ja" dir="ltr">' in html and "ブログ記事の下での表示を見る" in html


def test_a_posted_form_stays_in_its_language(client):
    uri = unique_uri()
    page = client.get("/comments", query_string={"uri": uri, "lang": "it"}).get_data(as_text=True)
    form_token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    response = client.post(
        "/comments?lang=it",
        data={
            "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
            "form_token": form_token,
            "uri": uri,
            "text": "",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Questo campo è obbligatorio." in html and "Correggi i campi evidenziati." in html


def test_the_moderators_pages_stay_english(client):
    html = client.get("/admin/login", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert "Log in to moderate" in html and "Anmelden" not in html


# --- the API ---------------------------------------------------------------------------------


def test_an_api_validation_error_in_polish_keeps_its_code(app, client, form_token):
    change_settings(app, MAX_TEXT_LENGTH=22)
    uri = unique_uri()
    body = {"uri": uri, "text": "x" * 30, "email": "@", "form_token": form_token(uri)}
    polish = client.post("/api/comments", json=body, headers={"Accept-Language": "pl"})
    english = client.post("/api/comments", json=body)
    assert polish.status_code == english.status_code == 400
    error, original = polish.get_json()["error"], english.get_json()["error"]
    assert error["code"] == original["code"] == "validation"
    assert error["message"] == "Popraw zaznaczone pola."
    assert original["message"] == "Please correct the marked fields."
    assert error["fields"]["email"] == ["Wpisz poprawny adres e-mail."]
    assert error["fields"]["text"] == ["Może mieć najwyżej 22 znaki."]  # Polish "few" form
    assert original["fields"]["text"] == ["Must be at most 22 characters."]
    assert set(error["fields"]) == set(original["fields"])
    assert "Accept-Language" in polish.headers["Vary"]


def test_http_errors_of_the_api_are_translated_too(client):
    missing = client.get("/api/nowhere", headers={"Accept-Language": "es"})
    assert missing.get_json()["error"] == {"code": "not_found", "message": "No encontrado."}
    wrong = client.put("/api/comments", headers={"Accept-Language": "nl"})
    assert wrong.get_json()["error"]["code"] == "method_not_allowed"
    assert (
        wrong.get_json()["error"]["message"]
        == "Deze methode is niet toegestaan voor de gevraagde URL."
    )


def test_the_thread_json_is_the_same_in_every_language(client):
    uri = unique_uri()
    make(client, uri, "Hello")
    plain = client.get("/api/threads", query_string={"uri": uri})
    german = client.get(
        "/api/threads", query_string={"uri": uri}, headers={"Accept-Language": "de"}
    )
    strip = lambda r: {k: v for k, v in r.get_json().items() if k != "form_token"}  # noqa: E731
    assert strip(plain) == strip(german)
    assert "Accept-Language" not in german.headers.get("Vary", "")


def test_a_comment_keeps_the_language_it_was_posted_in(app, client):
    uri = unique_uri()
    ids = [
        make(client, uri, "a", lang="fr-CA,fr;q=0.9")["id"],
        make(client, uri, "b", lang="sv")["id"],
        make(client, uri, "c")["id"],
    ]
    with app.app_context():
        langs = [db.session.get(Comment, i).lang for i in ids]
    assert langs == ["fr", "en", "en"]  # no supported language asked for: COMMENTSVC_LANGUAGE


# --- mails -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mail_overrides", [{"MODERATION": "all"}])
def test_a_reader_who_posted_in_french_gets_french_mails(app, client, smtp):
    uri = unique_uri()
    parent = make(
        client,
        uri,
        "Bonjour à tous",
        author="Alice",
        email=ALICE,
        notify=True,
        lang="fr-FR,fr;q=0.9",
    )
    send(app)
    (alert,) = smtp.to(test_mail.MODERATOR)  # the moderators' language: COMMENTSVC_LANGUAGE
    assert alert["Subject"].startswith("Comment awaiting review")
    approve(app, parent["id"])
    send(app)

    (opt_in,) = smtp.to(ALICE)
    # A subject is one line of plain spaces: French's no-break space before ":" becomes one.
    assert opt_in["Subject"] == "Merci de confirmer : e-mails sur les réponses à votre commentaire"
    text = text_of(opt_in).replace("\u00a0", " ").replace("\u202f", " ")
    assert "Quelqu’un (vous, nous l’espérons) a commenté" in text
    assert "appuyez sur « Confirmer » (il reste valable 30 jours) :" in text
    assert '<html lang="fr" dir="ltr">' in html_of(opt_in)
    confirm = path_of(re.search(r"http://comments\.test/mail/confirm/\S+", text_of(opt_in)).group())
    page = client.get(confirm)
    assert "Confirmer les notifications de réponse" in page.get_data(as_text=True)
    assert client.get(confirm + "?lang=ja").get_data(as_text=True).count("返信通知の確認") == 2
    done = client.post(confirm, data={"csrf_token": csrf(page)})
    assert "Notifications de réponse confirmées" in done.get_data(as_text=True)

    reply = make(
        client, uri, "Guten Tag", author="Bob", email=BOB, parent_id=parent["id"], lang="de"
    )
    approve(app, reply["id"])
    send(app)
    (notice,) = [m for m in smtp.to(ALICE) if m is not opt_in]
    assert notice["Subject"] == f"Nouvelle réponse à votre commentaire sur {uri}"
    assert "Bob a répondu à votre commentaire" in text_of(notice)
    assert "Lire la discussion et répondre" in html_of(notice)
    unsubscribe = path_of(re.fullmatch(r"<(\S+)>", notice["List-Unsubscribe"]).group(1))
    assert "Arrêter les notifications de réponse" in client.get(unsubscribe).get_data(as_text=True)


@pytest.mark.parametrize("mail_overrides", [{"MODERATION": "all", "LANGUAGE": "de"}])
def test_moderators_get_their_mails_in_the_configured_language(app, client, smtp):
    uri = unique_uri()
    held = make(client, uri, "Hello", lang="ja")
    send(app)
    (alert,) = smtp.to(test_mail.MODERATOR)
    assert alert["Subject"] == f"Kommentar wartet auf Prüfung: {uri}"
    text = text_of(alert)
    assert "Freigeben:" in text and "Als Spam markieren:" in text and "7 Tage" in text
    approve_path = path_of(re.search(r"^Freigeben:\s+(\S+)$", text, re.MULTILINE).group(1))
    page = client.get(approve_path, headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert "Diesen Kommentar freigeben?" in page and '<html lang="de" dir="ltr">' in page
    with app.app_context():
        assert db.session.get(Comment, held["id"]).lang == "ja"


# --- the setting -----------------------------------------------------------------------------


def test_the_language_setting_takes_either_spelling(tmp_path):
    for value, tag in [("pt_br", "pt-BR"), ("ZH-cn", "zh-CN"), ("ar", "ar")]:
        loaded = config.load(
            str(tmp_path), environ={"COMMENTSVC_LANGUAGE": value, "COMMENTSVC_SECRET_KEY": "k"}
        )
        assert loaded.language == tag
    assert config.load(str(tmp_path), environ={"COMMENTSVC_SECRET_KEY": "k"}).language == "en"


def test_a_bad_language_setting_is_one_clear_line(tmp_path):
    expected = (
        "COMMENTSVC_LANGUAGE: 'klingon' is not one of the supported languages: "
        "en, de, fr, es, pt-BR, it, nl, pl, ja, zh-CN, ar"
    )
    with pytest.raises(BadSetting) as caught:
        config.load(str(tmp_path), environ={"COMMENTSVC_LANGUAGE": "klingon"})
    assert str(caught.value) == expected
    result = _run(
        [str(Path(sys.executable).parent / "commentsvc"), "db", "current"],
        {"COMMENTSVC_LANGUAGE": "klingon"},
        tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr == f"Error: {expected}\n"
    checked = _run(
        [str(Path(sys.executable).parent / "commentsvc"), "check"],
        {"COMMENTSVC_LANGUAGE": "klingon"},
        tmp_path,
    )
    assert checked.returncode == 1
    assert checked.stdout.splitlines()[0].startswith(f"settings: {expected}; ")
