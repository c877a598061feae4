// The pure parts of embed.js: display rules, words, times, addresses, tokens, colours.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { embed, widgetCount } from "./load.mjs";

const { pluralForm, fill, layout, pickLanguage, relativeTime, retryIn, apiUrl, usefulTokens,
  colorScheme, NESTING_DEPTH } = embed;

function chain(length, id = 1) {
  return length ? [{ id, replies: chain(length - 1, id + 1) }] : [];
}

function shown(entries) {
  return entries.map((e) => [e.c.id, e.depth, e.beside ? e.parent.c.id : null]);
}

describe("count wording", () => {
  const english = embed.EN.count;

  test("zero, one and more in English", () => {
    assert.equal(pluralForm(english, 0, "other"), "No comments");
    assert.equal(pluralForm(english, 1, "one"), "{n} comment");
    assert.equal(pluralForm(english, 7, "other"), "{n} comments");
  });

  test("a language without a form for zero uses its plural category", () => {
    assert.equal(pluralForm({ one: "{n} item", other: "{n} items" }, 0, "other"), "{n} items");
  });

  test("a category the catalogue lacks falls back to other", () => {
    assert.equal(pluralForm({ one: "1", other: "many" }, 3, "few"), "many");
  });

  test("the widget's own words, numbers the language's way", () => {
    assert.equal(widgetCount("en", 0), "No comments");
    assert.equal(widgetCount("en", 1), "1 comment");
    assert.equal(widgetCount("en", 1234), "1,234 comments");
    assert.equal(widgetCount("de", 0), "Keine Kommentare");
    assert.equal(widgetCount("de", 1), "1 Kommentar");
    assert.equal(widgetCount("de", 1234), "1.234 Kommentare");
    assert.equal(widgetCount("pl", 22), "22 komentarze");
    assert.equal(widgetCount("pl", 25), "25 komentarzy");
  });

  test("Arabic has a form for each CLDR category", () => {
    const forms = { zero: "z", one: "o", two: "t", few: "f", many: "m", other: "x" };
    const rules = new Intl.PluralRules("ar");
    const pick = (n) => pluralForm(forms, n, rules.select(n));
    assert.deepEqual([1, 2, 3, 11, 100].map(pick), ["o", "t", "f", "m", "x"]);
  });
});

describe("placeholders", () => {
  test("known ones are filled, unknown ones left", () => {
    assert.equal(fill("Reply to {name} {x}", { name: "Ann" }, false), "Reply to Ann {x}");
  });

  test("in right-to-left text only names are isolated", () => {
    assert.equal(fill("{name}: {n}", { name: "Ann", n: 2 }, true), "\u2068Ann\u2069: 2");
  });
});

describe("nesting", () => {
  test(`replies nest ${NESTING_DEPTH} levels deep, deeper ones beside their parent`, () => {
    assert.equal(NESTING_DEPTH, 4);
    assert.deepEqual(shown(layout(chain(6))), [
      [1, 0, null], [2, 1, null], [3, 2, null], [4, 3, null], [5, 3, 4], [6, 3, 5],
    ]);
  });

  test("reading order: each comment, then its replies, then the next comment", () => {
    const thread = [
      { id: 1, replies: [{ id: 2, replies: [] }, { id: 3, replies: [{ id: 4 }] }] },
      { id: 5 },
    ];
    assert.deepEqual(shown(layout(thread)), [
      [1, 0, null], [2, 1, null], [3, 1, null], [4, 2, null], [5, 0, null],
    ]);
  });

  test("a new reply is laid out under the node it answers", () => {
    const node = { c: { id: 9 }, depth: 1 };
    const [entry] = layout([{ id: 10 }], node);
    assert.deepEqual([entry.depth, entry.beside, entry.parent], [2, false, node]);
    const deep = { c: { id: 9 }, depth: NESTING_DEPTH - 1 };
    const [beside] = layout([{ id: 11 }], deep);
    assert.deepEqual([beside.depth, beside.beside], [NESTING_DEPTH - 1, true]);
  });
});

describe("language", () => {
  for (const [asked, found] of [
    ["de", "de"], ["de-AT", "de"], ["DE_at", "de"], ["pt", "pt-BR"], ["PT-br", "pt-BR"],
    ["zh", "zh-CN"], ["zh-CN", "zh-CN"], ["zh-TW", "en"], ["zh-Hant-HK", "en"], ["en-GB", "en"],
    ["", "en"], ["xx", "en"], ["ar-EG", "ar"],
  ]) {
    test(`"${asked}" reads ${found}`, () => assert.equal(pickLanguage(asked), found));
  }
});

describe("times", () => {
  test("less than a minute is just now", () => {
    assert.equal(relativeTime(0), null);
    assert.equal(relativeTime(-59), null);
  });

  test("the largest whole unit, rounded", () => {
    assert.deepEqual(relativeTime(-60), [-1, "minute"]);
    assert.deepEqual(relativeTime(-100), [-2, "minute"]);
    assert.deepEqual(relativeTime(-3 * 86400), [-3, "day"]);
    assert.deepEqual(relativeTime(-15 * 86400), [-2, "week"]);
    assert.deepEqual(relativeTime(-400 * 86400), [-1, "year"]);
    assert.deepEqual(relativeTime(7200), [2, "hour"]);
  });

  test("Retry-After in seconds: seconds below a minute, then whole minutes", () => {
    assert.deepEqual(retryIn("42", 0), [42, "second"]);
    assert.deepEqual(retryIn("59.2", 0), [60, "second"]);
    assert.deepEqual(retryIn("60", 0), [1, "minute"]);
    assert.deepEqual(retryIn("61", 0), [2, "minute"]);
  });

  test("Retry-After as a date", () => {
    const now = Date.parse("2026-01-01T12:00:00Z");
    assert.deepEqual(retryIn("Thu, 01 Jan 2026 12:01:30 GMT", now), [2, "minute"]);
    assert.equal(retryIn("Thu, 01 Jan 2026 11:00:00 GMT", now), null);
  });

  test("no Retry-After, or one that says nothing, gives no time", () => {
    for (const raw of [null, "", "0", "-5", "soon"]) assert.equal(retryIn(raw, 0), null, raw);
  });
});

describe("API addresses", () => {
  const base = "https://comments.example.com/";

  test("the default site's addresses are as they always were", () => {
    for (const site of ["default", "", undefined]) {
      assert.equal(apiUrl(base, site, "api/threads", { uri: "/a b.html", sort: "top" }),
        base + "api/threads?uri=%2Fa%20b.html&sort=top");
      assert.equal(apiUrl(base, site, "api/comments"), base + "api/comments");
    }
  });

  test("another site is named last on every call", () => {
    assert.equal(apiUrl(base, "blog-2", "api/threads", { uri: "/p", sort: "oldest", after: "x1" }),
      base + "api/threads?uri=%2Fp&sort=oldest&after=x1&site=blog-2");
    assert.equal(apiUrl(base, "blog-2", "api/comments/7/vote"),
      base + "api/comments/7/vote?site=blog-2");
    assert.equal(apiUrl(base, "a&b", "api/preview"), base + "api/preview?site=a%26b");
  });

  test("empty parameters are left out", () => {
    assert.equal(apiUrl(base, "default", "api/threads", { uri: "/p", after: null, x: "" }),
      base + "api/threads?uri=%2Fp");
  });
});

describe("own comments' edit tokens", () => {
  const day = 86400e3;
  const now = 100 * day;

  test("this thread's live tokens, newest first; spent ones to drop", () => {
    const { mine, spent } = usefulTokens([
      ["token:1", { t: "a", u: now - day, uri: "/p" }],
      ["token:2", { t: "b", u: now + day, uri: "/p" }],
      ["token:3", { t: "c", u: now, uri: "/other" }],
      ["token:4", { t: "d", u: now - 31 * day, uri: "/p" }],
      ["token:5", { u: now, uri: "/p" }],
      ["token:6", null],
    ], "/p", now);
    assert.deepEqual(mine.map((o) => o.t), ["b", "a"]);
    assert.deepEqual(spent, ["token:4", "token:5", "token:6"]);
  });

  test("at most fifty are sent", () => {
    const many = Array.from({ length: 60 }, (_, i) => [`token:${i}`, { t: `t${i}`, u: now + i, uri: "/p" }]);
    const { mine } = usefulTokens(many, "/p", now);
    assert.equal(mine.length, 50);
    assert.equal(mine[0].t, "t59");
  });
});

describe("colour scheme of the page behind the widget", () => {
  for (const [color, scheme] of [
    ["rgb(0, 0, 0)", "dark"], ["rgb(255, 255, 255)", "light"], ["rgb(30, 30, 46)", "dark"],
    ["rgba(0, 0, 0, 0.6)", "dark"], ["rgba(0, 0, 0, 0)", null], ["rgba(0, 0, 0, 0.5)", null],
    ["transparent", null],
  ]) {
    test(`${color} is ${scheme}`, () => assert.equal(colorScheme(color), scheme));
  }
});
