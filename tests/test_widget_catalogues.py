"""The widget's word catalogues: complete in every language, true to CLDR's plural rules, and
the only source of the words embed.js and count.js show."""

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from babel import Locale

from commentsvc.widget.assets import LANGUAGES, STATIC_DIR

EMBED_JS = STATIC_DIR / "embed.js"
COUNT_JS = STATIC_DIR / "count.js"
I18N_DIR = STATIC_DIR / "i18n"
PLACEHOLDER = re.compile(r"\{(\w+)\}")


# ---------------------------------------------------------------- a small JavaScript scanner


@dataclass(frozen=True)
class Token:
    kind: str  # "name", "number", "punct", "string", "template" or "regex"
    text: str  # a string's or template's value (each ${...} as "{}"); otherwise the source
    start: int
    end: int


PUNCTUATORS = sorted(
    [
        "===",
        "!==",
        "...",
        "**=",
        "&&=",
        "||=",
        "??=",
        "=>",
        "==",
        "!=",
        "<=",
        ">=",
        "&&",
        "||",
        "??",
        "?.",
        "++",
        "--",
        "+=",
        "-=",
        "*=",
        "/=",
        "%=",
        "**",
    ],
    key=len,
    reverse=True,
)
# After these words, or after any punctuator but ) and ], a slash starts a regular expression.
KEYWORDS_BEFORE_EXPRESSION = {
    "return",
    "typeof",
    "case",
    "do",
    "else",
    "in",
    "of",
    "new",
    "delete",
    "void",
    "throw",
    "instanceof",
    "yield",
    "await",
}
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


class JSScanner:
    """Splits JavaScript into tokens: enough to find its string literals and what surrounds
    them, with comments, regular expressions and template literals told apart."""

    def __init__(self, source: str):
        self.src = source
        self.pos = 0
        self.tokens: list[Token] = []
        self.expressions: list[list[Token]] = []  # the tokens of each ${...} in a template

    def scan(self) -> list[Token]:
        self._tokens(stop_at_brace=False)
        return self.tokens

    def _tokens(self, stop_at_brace: bool) -> None:
        src, depth = self.src, 0
        while self.pos < len(src):
            c, start = src[self.pos], self.pos
            if c.isspace():
                self.pos += 1
            elif src.startswith("//", start):
                end = src.find("\n", start)
                self.pos = len(src) if end < 0 else end
            elif src.startswith("/*", start):
                end = src.find("*/", start + 2)
                assert end >= 0, f"unterminated comment at {start}"
                self.pos = end + 2
            elif c in "'\"":
                self._add("string", self._quoted(c), start)
            elif c == "`":
                self._add("template", self._template(), start)
            elif c == "/" and self._regex_allowed():
                self._regex()
                self._add("regex", src[start : self.pos], start)
            elif c.isalpha() or c in "_$":
                match = re.compile(r"[\w$]+").match(src, start)
                self.pos = match.end()
                self._add("name", match.group(), start)
            elif c.isdigit():
                match = re.compile(r"[\w.]+").match(src, start)
                self.pos = match.end()
                self._add("number", match.group(), start)
            else:
                if stop_at_brace and c == "}" and depth == 0:
                    return
                depth += (c == "{") - (c == "}")
                op = next((p for p in PUNCTUATORS if src.startswith(p, start)), c)
                self.pos += len(op)
                self._add("punct", op, start)
        assert not stop_at_brace, "unterminated ${ in a template literal"

    def _add(self, kind: str, text: str, start: int) -> None:
        self.tokens.append(Token(kind, text, start, self.pos))

    def _regex_allowed(self) -> bool:
        if not self.tokens:
            return True
        last = self.tokens[-1]
        if last.kind == "punct":
            return last.text not in (")", "]")
        return last.kind == "name" and last.text in KEYWORDS_BEFORE_EXPRESSION

    def _escape(self) -> str:
        c = self.src[self.pos + 1]
        self.pos += 2
        if c == "u" and self.src[self.pos] == "{":
            end = self.src.index("}", self.pos)
            code, self.pos = self.src[self.pos + 1 : end], end + 1
            return chr(int(code, 16))
        if c in "ux":
            size = 4 if c == "u" else 2
            code = self.src[self.pos : self.pos + size]
            self.pos += size
            return chr(int(code, 16))
        if c == "\n":
            return ""
        return ESCAPES.get(c, c)

    def _quoted(self, quote: str) -> str:
        out = []
        self.pos += 1
        while True:
            c = self.src[self.pos]
            assert c != "\n", f"unterminated string at {self.pos}"
            if c == quote:
                self.pos += 1
                return "".join(out)
            if c == "\\":
                out.append(self._escape())
            else:
                out.append(c)
                self.pos += 1

    def _template(self) -> str:
        out = []
        self.pos += 1
        while True:
            c = self.src[self.pos]
            if c == "`":
                self.pos += 1
                return "".join(out)
            if c == "\\":
                out.append(self._escape())
            elif self.src.startswith("${", self.pos):
                inner = JSScanner(self.src)
                inner.pos = self.pos + 2
                inner._tokens(stop_at_brace=True)
                self.expressions += [inner.tokens, *inner.expressions]
                self.pos = inner.pos + 1
                out.append("{}")
            else:
                out.append(c)
                self.pos += 1

    def _regex(self) -> None:
        in_class = False
        self.pos += 1
        while True:
            c = self.src[self.pos]
            assert c != "\n", f"unterminated regular expression at {self.pos}"
            if c == "\\":
                self.pos += 2
                continue
            self.pos += 1
            if c == "[":
                in_class = True
            elif c == "]":
                in_class = False
            elif c == "/" and not in_class:
                break
        while self.pos < len(self.src) and self.src[self.pos].isalpha():
            self.pos += 1  # flags


def literal_value(tokens: list[Token], i: int):
    """The value of the object, array or string literal (with + joining strings) starting at
    tokens[i], and the index after it. Anything else in a catalogue is refused."""

    def value(i):
        tok = tokens[i]
        if tok.kind == "punct" and tok.text == "{":
            return members(i + 1, "}", keyed=True)
        if tok.kind == "punct" and tok.text == "[":
            return members(i + 1, "]", keyed=False)
        assert tok.kind == "string", f"a catalogue holds {tok.text!r}, not a string or object"
        text, i = tok.text, i + 1
        while tokens[i].text == "+":
            assert tokens[i + 1].kind == "string", f"{tokens[i + 1].text!r} joined to a string"
            text, i = text + tokens[i + 1].text, i + 2
        return text, i

    def members(i, close, keyed):
        out = {} if keyed else []
        while tokens[i].text != close:
            if keyed:
                key = tokens[i]
                assert key.kind in ("name", "string") and tokens[i + 1].text == ":", key
                assert key.text not in out, f"{key.text} is there twice"
                out[key.text], i = value(i + 2)
            else:
                item, i = value(i)
                out.append(item)
            if tokens[i].text == ",":
                i += 1
        return out, i + 1

    return value(i)


def declaration(tokens: list[Token], name: str):
    """The literal assigned to `const|let name = ...`: its value and its span in the source."""
    for i, tok in enumerate(tokens[:-2]):
        if (
            tok.kind == "name"
            and tok.text == name
            and tokens[i - 1].text in ("const", "let")
            and tokens[i + 1].text == "="
        ):
            value, end = literal_value(tokens, i + 2)
            return value, (tokens[i + 2].start, tokens[end - 1].end)
    raise AssertionError(f"no `const {name} = ...` found")


# ---------------------------------------------------------------- words that bypass catalogues

LETTER = r"[^\W\d_]"


def looks_like_text(value: str) -> bool:
    """A string a reader would read: words with a space between them, a capitalised word,
    a sentence's final mark, or letters outside ASCII (a word in another script)."""
    value = value.strip()
    if not re.search(LETTER, value):
        return False
    return bool(
        re.search(f"{LETTER}\\s+{LETTER}", value)
        or re.match(r"[A-Z][a-z]", value)
        or value.endswith((".", "…", "!", "?"))
        or any(ord(ch) > 127 and ch.isalpha() for ch in value)
    )


# Strings in these places are for the program, the browser or the site's owner, not the reader.
NOT_FOR_READERS_CALLS = {
    "querySelector",
    "querySelectorAll",
    "matchMedia",  # CSS selectors and media queries
    "warn",
    "error",
    "log",
    "info",  # console messages, for the site's owner (count.js)
    "get",  # response header names, storage keys
}
NOT_FOR_READERS_KEYS = {
    "class",
    "rel",  # space-separated token lists ("csvc-button csvc-secondary", "nofollow ugc")
    "Authorization",  # a credential ("Bearer " + token)
}
NOT_FOR_READERS_TEXT = {"use strict"}  # the directive


def enclosing_call(tokens: list[Token], i: int) -> str | None:
    """The name of the function whose argument list directly holds tokens[i], if any."""
    depth = 0
    for j in range(i - 1, -1, -1):
        text = tokens[j].text if tokens[j].kind == "punct" else None
        if text in (")", "]", "}"):
            depth += 1
        elif text in ("(", "[", "{"):
            if depth == 0:
                before = tokens[j - 1] if j else None
                return before.text if text == "(" and before and before.kind == "name" else None
            depth -= 1
    return None


def for_readers(tokens: list[Token], i: int) -> bool:
    """Whether the string or template at tokens[i] may end up in front of a reader."""
    before = tokens[i - 1].text if i else ""
    after = tokens[i + 1].text if i + 1 < len(tokens) else ""
    if tokens[i].text in NOT_FOR_READERS_TEXT:
        return False
    if after == ":" and before in ("{", ","):
        return False  # a property name: header names, attribute names
    if before == "[" and after == "]" and i >= 2 and tokens[i - 2].kind == "name":
        return False  # a property looked up: headers["Content-Type"]
    if before in ("===", "!==", "==", "!=") or after in ("===", "!==", "==", "!="):
        return False  # compared with: key names, statuses
    if before == ":" and i >= 2 and tokens[i - 2].text in NOT_FOR_READERS_KEYS:
        return False
    return enclosing_call(tokens, i) not in NOT_FOR_READERS_CALLS


def words_outside_catalogues(source: str, catalogues: tuple[str, ...] = ()) -> list[str]:
    """Reader-facing words written into a script instead of taken from a catalogue: every
    string or template literal that looks like text, outside the named catalogue objects."""
    scanner = JSScanner(source)
    tokens = scanner.scan()
    spans = [declaration(tokens, name)[1] for name in catalogues]
    return [
        tok.text
        for part in (tokens, *scanner.expressions)
        for i, tok in enumerate(part)
        if tok.kind in ("string", "template")
        and not any(start <= tok.start < end for start, end in spans)
        and looks_like_text(tok.text)
        and for_readers(part, i)
    ]


# ---------------------------------------------------------------- what the scripts and files say


def script_tokens(path: Path) -> list[Token]:
    return JSScanner(path.read_text(encoding="utf-8")).scan()


@pytest.fixture(scope="module")
def embed_tokens() -> list[Token]:
    return script_tokens(EMBED_JS)


@pytest.fixture(scope="module")
def english(embed_tokens) -> dict:
    return declaration(embed_tokens, "EN")[0]


def catalogue(tag: str) -> dict:
    def no_duplicates(pairs):
        keys = [key for key, _ in pairs]
        assert len(keys) == len(set(keys)), f"{tag}.json repeats a key"
        return dict(pairs)

    return json.loads(
        (I18N_DIR / f"{tag}.json").read_text(encoding="utf-8"), object_pairs_hook=no_duplicates
    )


def plural_categories(tag: str) -> set[str]:
    return set(Locale.parse(tag, sep="-").plural_form.tags) | {"other"}


def numbers_in_category(tag: str, category: str) -> set[int]:
    rule = Locale.parse(tag, sep="-").plural_form
    return {n for n in range(1001) if rule(n) == category}


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


# ---------------------------------------------------------------- the catalogues


def test_the_scanner_reads_the_english_catalogue(english):
    assert english["comments"] == "Comments"
    assert english["count"] == {
        "none": "No comments",
        "one": "{n} comment",
        "other": "{n} comments",
    }
    assert english["origin"].startswith("This site is not allowed")  # joined with +
    assert english["origin"].endswith("to COMMENTSVC_ALLOWED_ORIGINS.")


def test_languages_are_the_files_and_the_scripts_lists(embed_tokens):
    files = sorted(path.stem for path in I18N_DIR.glob("*.json"))
    assert sorted(LANGUAGES) == files
    embed_langs = declaration(embed_tokens, "LANGS")[0]
    count_langs = declaration(script_tokens(COUNT_JS), "LANGS")[0]
    assert embed_langs == ["en", *LANGUAGES]
    assert count_langs == list(LANGUAGES)


def test_right_to_left_languages_are_those_cldr_writes_right_to_left(embed_tokens):
    rtl = declaration(embed_tokens, "RTL")[0]
    assert rtl == [
        tag for tag in LANGUAGES if Locale.parse(tag, sep="-").character_order == "right-to-left"
    ]


@pytest.mark.parametrize("tag", LANGUAGES)
def test_catalogue_is_pretty_printed_utf8_json(tag):
    text = (I18N_DIR / f"{tag}.json").read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), ensure_ascii=False, indent=2) + "\n"


@pytest.mark.parametrize("tag", LANGUAGES)
def test_catalogue_has_every_english_key_and_no_other(tag, english):
    words = catalogue(tag)
    assert sorted(set(english) - set(words)) == [], "missing"
    assert sorted(set(words) - set(english)) == [], "not in English"


@pytest.mark.parametrize("tag", LANGUAGES)
def test_every_message_is_a_non_empty_string_or_plural_forms(tag, english):
    for key, text in catalogue(tag).items():
        if isinstance(english[key], dict):
            assert isinstance(text, dict), key
            forms = text.values()
        else:
            forms = [text]
        for form in forms:
            assert isinstance(form, str) and form.strip(), key
            assert form == form.strip(), f"{key}: spaces around {form!r}"


@pytest.mark.parametrize("tag", ["en", *LANGUAGES])
def test_plural_forms_are_cldrs_categories(tag, english):
    words = english if tag == "en" else catalogue(tag)
    for key, forms in english.items():
        if not isinstance(forms, dict):
            continue
        # `none` is the widget's own form for the number 0 ("No comments").
        expected = plural_categories(tag) | ({"none"} & set(forms))
        assert set(words[key]) == expected, key


@pytest.mark.parametrize("tag", LANGUAGES)
def test_messages_keep_the_english_placeholders(tag, english):
    words = catalogue(tag)
    for key, source in english.items():
        if not isinstance(source, dict):
            assert placeholders(words[key]) == placeholders(source), key
            continue
        wanted = placeholders(source["other"])
        for category, form in words[key].items():
            found = placeholders(form)
            assert found <= wanted, f"{key}.{category} has placeholders English lacks"
            # A form that stands for one number may say it in words ("Keine Kommentare",
            # Arabic's dual "تعليقان" for 2); one that stands for several must show {n}.
            one_number = category == "none" or len(numbers_in_category(tag, category)) <= 1
            allowed_missing = {"n"} if one_number else set()
            assert wanted - found <= allowed_missing, f"{key}.{category} lacks {wanted - found}"


@pytest.mark.parametrize("tag", LANGUAGES)
def test_names_and_markdown_syntax_survive_translation(tag):
    words = catalogue(tag)
    assert "COMMENTSVC_ALLOWED_ORIGINS" in words["origin"]
    hint = words["markdown"]
    assert "Markdown" in hint
    assert re.search(r"(?<!\*)\*[^*\s][^*]*\*(?!\*)", hint), "*italic*"
    assert re.search(r"\*\*[^*\s][^*]*\*\*", hint), "**bold**"
    assert re.search(r"\[[^\]\s][^\]]*\]\(https://example\.com\)", hint), "[a link](...)"
    assert re.search(r"`[^`\s][^`]*`", hint), "`code`"


def test_count_js_english_forms_are_the_widgets():
    forms = declaration(script_tokens(COUNT_JS), "forms")[0]
    english = declaration(script_tokens(EMBED_JS), "EN")[0]
    assert forms == english["count"]


# ---------------------------------------------------------------- the scripts use the catalogue


def test_every_message_asked_for_exists_and_every_message_is_asked_for(embed_tokens, english):
    _, (start, end) = declaration(embed_tokens, "EN")
    asked = {
        embed_tokens[i + 2].text
        for i, tok in enumerate(embed_tokens[:-2])
        if tok.text == "t"
        and embed_tokens[i + 1].text == "("
        and embed_tokens[i + 2].kind == "string"
    }
    assert asked - set(english) == set(), "t() asks for messages EN lacks"
    # A message may be asked for by a variable (the sort options' keys are their values), so
    # every key must at least appear as a string outside the catalogue.
    strings = {
        tok.text for tok in embed_tokens if tok.kind == "string" and not start <= tok.start < end
    }
    assert set(english) - strings == set(), "messages nothing asks for"


@pytest.mark.parametrize(("path", "catalogues"), [(EMBED_JS, ("EN",)), (COUNT_JS, ("forms",))])
def test_no_reader_facing_words_bypass_the_catalogue(path, catalogues):
    assert words_outside_catalogues(path.read_text(encoding="utf-8"), catalogues) == []


def test_a_paragraph_written_into_embed_js_would_be_found():
    source = EMBED_JS.read_text(encoding="utf-8")
    spot = source.rindex("})();")  # the end of the script
    changed = source[:spot] + '    box.append(h("p", null, "Hello there"));\n' + source[spot:]
    assert words_outside_catalogues(changed, ("EN",)) == ["Hello there"]


@pytest.mark.parametrize(
    "line",
    [
        'root.append(h("p", null, "Hello there"));',
        'button.textContent = "Send";',
        "note.textContent = `Posted ${when}.`;",
        "h('span', { title: 'click to vote' }, score);",
        'el.setAttribute("aria-label", "close the form");',
        'status.textContent = "Kommentare";',
        'status.textContent = "评论";',
        'note.textContent = `${ok ? "Thanks a lot" : ""}`;',
    ],
)
def test_the_scan_finds_words_written_into_the_script(line):
    source = 'const EN = { hello: "Hello there" };\n' + line
    assert len(words_outside_catalogues(source, ("EN",))) == 1


@pytest.mark.parametrize(
    "line",
    [
        'const EN = { hello: "Hello there", more: "One " + "two." };',
        'const el = h("a", { class: "csvc-link csvc-author", rel: "nofollow ugc noopener" });',
        'init.headers["Content-Type"] = "application/json";',
        'const headers = { "Accept-Language": lang, Authorization: "Bearer " + token };',
        'if (ev.key === "Escape") cancel();',
        'const raw = res.headers.get("Retry-After");',
        "console.warn(`commentsvc: counts could not be loaded (${why}). Check the origin.`);",
        "document.querySelector('script[src$=\"/embed.js\"]');",
        'const re = /"Hello there"/g; const half = total / 2; // a "Quoted remark."',
        '/* The comment says "Hello there". */ const x = 1;',
    ],
)
def test_the_scan_passes_what_readers_never_see(line):
    assert words_outside_catalogues(line, ("EN",) if "const EN" in line else ()) == []


@pytest.mark.parametrize("tag", ["en", *LANGUAGES])
def test_reply_buttons_name_holds_its_visible_word(tag, english):
    # The Reply button is named "Reply to {name}" for screen readers; speech users say the
    # word they see, so the name must hold it as a word (WCAG 2.5.3; axe's
    # label-content-name-mismatch). Japanese and Chinese put no spaces between words.
    words = english if tag == "en" else catalogue(tag)
    shown, name = words["reply"].casefold(), words["replyTo"].casefold()
    if tag in ("ja", "zh-CN"):
        assert shown in name
    else:
        assert re.search(rf"(?<!\w){re.escape(shown)}(?!\w)", name)
