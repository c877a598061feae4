/* commentsvc comment counts: fills every [data-comment-count] element with "No comments",
 * "1 comment" or "N comments", in the language of data-lang on the script tag, else the
 * page's <html lang>, else English. The attribute holds the thread URI; when empty, the
 * element's href path is used. One request per page (per 100 distinct threads), and one
 * for the words of a language other than English. */
(() => {
  "use strict";
  const script = document.currentScript || document.querySelector('script[src$="/count.js"]');
  if (!script) return;
  const base = new URL(".", script.src).href;
  let warned = false;
  const LANGS = ["de", "fr", "es", "pt-BR", "it", "nl", "pl", "ja", "zh-CN", "ar"];
  const wanted = (script.dataset.lang || document.documentElement.lang || "").toLowerCase();
  const lang = !/^zh.*(hant|tw|hk|mo)/.test(wanted) && (LANGS.find((l) => l.toLowerCase() === wanted) ||
    LANGS.find((l) => l.split("-")[0] === wanted.split(/[-_]/)[0]));
  let forms = { none: "No comments", one: "{n} comment", other: "{n} comments" };
  const words = lang ? fetch(base + "i18n/" + lang + ".json", { credentials: "omit" })
    .then((res) => (res.ok ? res.json() : {}))
    .then((all) => { if (all.count && all.count.other) forms = all.count; })
    .catch(() => {}) : Promise.resolve();
  let rules, numbers;

  function label(n) {
    rules = rules || new Intl.PluralRules(lang || "en");
    numbers = numbers || new Intl.NumberFormat(lang || "en");
    return ((n === 0 && forms.none) || forms[rules.select(n)] || forms.other)
      .replace("{n}", numbers.format(n));
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
      fetch(base + "api/counts", {
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
            for (const el of byUri.get(uri) || []) el.textContent = label(n);
          }
        })
        .catch(() => warn("no answer, or this origin is not allowed"));
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
  else run();
})();
