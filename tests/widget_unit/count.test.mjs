// count.js says counts as the widget does, in the same languages, for the same site.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { count, countJsCount, embed, widgetCount } from "./load.mjs";

const NUMBERS = [...Array(250).keys(), 1000, 1001, 1234567];

describe("count.js", () => {
  test("knows the widget's languages", () => {
    assert.deepEqual(["en", ...count.LANGS], embed.LANGS);
  });

  for (const tag of embed.LANGS) {
    test(`words counts as the widget does in ${tag}`, () => {
      for (const n of NUMBERS) assert.equal(countJsCount(tag, n), widgetCount(tag, n), `${tag} ${n}`);
    });
  }

  test("picks the language the widget picks (English is its own words, no catalogue)", () => {
    for (const asked of ["de", "de-AT", "pt", "zh", "zh-TW", "zh-Hant", "en", "en-US", "", "xx", "AR"]) {
      assert.equal(count.pickLanguage(asked) || "en", embed.pickLanguage(asked), asked);
    }
  });

  test("asks for another site's counts, and the default's at the usual address", () => {
    const base = "https://comments.example.com/";
    assert.equal(count.countsUrl(base, undefined), base + "api/counts");
    assert.equal(count.countsUrl(base, "default"), base + "api/counts");
    assert.equal(count.countsUrl(base, "blog-2"), base + "api/counts?site=blog-2");
    assert.equal(count.countsUrl(base, "blog-2"), embed.apiUrl(base, "blog-2", "api/counts"));
  });
});
