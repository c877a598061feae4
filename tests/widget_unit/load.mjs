// Loads the widget's scripts as Node modules: each exports its pure functions when there is
// no `document` (browsers never take that path). Set WIDGET_SCRIPTS to a folder to load other
// copies of them instead (tests/test_display_rules.py passes the minified ones it serves).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const STATIC = join(here, "..", "..", "commentsvc", "static");
const scripts = process.env.WIDGET_SCRIPTS || STATIC;
const require = createRequire(import.meta.url);

export const embed = require(join(scripts, "embed.js"));
export const count = require(join(scripts, "count.js"));

// The widget's words in one language: English from embed.js, the rest from i18n/<tag>.json.
const catalogues = new Map([["en", embed.EN]]);
export function catalogue(tag) {
  if (!catalogues.has(tag)) {
    catalogues.set(tag, JSON.parse(readFileSync(join(STATIC, "i18n", tag + ".json"), "utf8")));
  }
  return catalogues.get(tag);
}

// A language's plural rules and number format, made once (each costs a few milliseconds).
const intl = new Map();
function rules(tag) {
  if (!intl.has(tag)) intl.set(tag, [new Intl.PluralRules(tag), new Intl.NumberFormat(tag)]);
  return intl.get(tag);
}

// A count worded as the widget words it once its formatters exist (embed.js t("count")).
export function widgetCount(tag, n) {
  const [plural, numbers] = rules(tag);
  const text = embed.pluralForm(catalogue(tag).count, n, plural.select(n));
  return embed.fill(text, { n: numbers.format(n) }, embed.RTL.includes(tag));
}

// A count worded as count.js words it.
export function countJsCount(tag, n) {
  return count.label(catalogue(tag).count, n, ...rules(tag));
}
