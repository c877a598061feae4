/* commentsvc comment counts: fills every [data-comment-count] element with "No comments",
 * "1 comment" or "N comments", in the language of data-lang on the script tag, else the
 * page's <html lang>, else English. The attribute holds the thread URI; when empty, the
 * element's href path is used. One request per page (per 100 distinct threads), and one
 * for the words of a language other than English. data-site on the script tag names the
 * blog on a server that keeps several blogs' comments.
 * The wording follows the widget's display rules (embed.js; tests/test_display_rules.py). */
(() => {
  "use strict";
  const LANGS = ["de", "fr", "es", "pt-BR", "it", "nl", "pl", "ja", "zh-CN", "ar"];
  const DEFAULT_SITE = "default";

  // A catalogue's language for the one asked for, or undefined for English (as embed.js).
  function pickLanguage(wanted) {
    wanted = wanted.toLowerCase();
    if (/^zh.*(hant|tw|hk|mo)/.test(wanted)) return undefined;
    return LANGS.find((l) => l.toLowerCase() === wanted) ||
      LANGS.find((l) => l.split("-")[0] === wanted.split(/[-_]/)[0]);
  }

  // "No comments" for zero where the language has it, else its plural category's form.
  function label(forms, n, rules, numbers) {
    return ((n === 0 && forms.none) || forms[rules.select(n)] || forms.other)
      .replace("{n}", numbers.format(n));
  }

  // The default site's URL stays as it always was, so caches keep working.
  function countsUrl(base, site) {
    return base + "api/counts" +
      (site && site !== DEFAULT_SITE ? "?site=" + encodeURIComponent(site) : "");
  }

  if (typeof document === "undefined") { // loaded by Node for the unit tests
    if (typeof module === "object") module.exports = { LANGS, pickLanguage, label, countsUrl };
    return;
  }

  const script = document.currentScript || document.querySelector('script[src$="/count.js"]');
  if (!script) return;
  const base = new URL(".", script.src).href;
  const url = countsUrl(base, script.dataset.site);
  let warned = false;
  const lang = pickLanguage(script.dataset.lang || document.documentElement.lang || "");
  let forms = { none: "No comments", one: "{n} comment", other: "{n} comments" };
  const words = lang ? fetch(base + "i18n/" + lang + ".json", { credentials: "omit" })
    .then((res) => (res.ok ? res.json() : {}))
    .then((all) => { if (all.count && all.count.other) forms = all.count; })
    .catch(() => {}) : Promise.resolve();
  let rules, numbers;

  function show(n) {
    rules = rules || new Intl.PluralRules(lang || "en");
    numbers = numbers || new Intl.NumberFormat(lang || "en");
    return label(forms, n, rules, numbers);
  }

  // Counts are decoration: on failure the links keep their text, and the console says why.
  function warn(why) {
    if (warned) return;
    warned = true;
    console.warn(`commentsvc: comment counts could not be loaded from ${base} (${why}). ` +
      `If this page's origin (${location.origin}) is not in the server's ` +
      "COMMENTSVC_ALLOWED_ORIGINS, add it there.");
  }

  function run() {
    const byUri = new Map();
    for (const el of document.querySelectorAll("[data-comment-count]")) {
      const uri = el.getAttribute("data-comment-count") || (el.href ? new URL(el.href).pathname : "");
      if (!uri) continue;
      if (!byUri.has(uri)) byUri.set(uri, []);
      byUri.get(uri).push(el);
    }
    const uris = [...byUri.keys()];
    for (let i = 0; i < uris.length; i += 100) {
      fetch(url, {
        method: "POST",
        credentials: "omit",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ uris: uris.slice(i, i + 100) }),
      })
        .then((res) => {
          if (res.ok) return res.json();
          warn(`error ${res.status}`);
          return null;
        })
        .then(async (data) => {
          if (!data) return;
          await words;
          for (const [uri, n] of Object.entries(data.counts || {})) {
            for (const el of byUri.get(uri) || []) el.textContent = show(n);
          }
        })
        .catch(() => warn("no answer, or this origin is not allowed"));
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
  else run();
})();
