/* commentsvc comment counts: fills every [data-comment-count] element with "No comments",
 * "1 comment" or "N comments". The attribute holds the thread URI; when empty, the
 * element's href path is used. One request per page (per 100 distinct threads). */
(() => {
  "use strict";
  const script = document.currentScript || document.querySelector('script[src$="/count.js"]');
  if (!script) return;
  const base = new URL(".", script.src).href;
  let warned = false;

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
        .then((data) => {
          if (!data) return;
          for (const [uri, n] of Object.entries(data.counts || {})) {
            const text = n === 0 ? "No comments" : n === 1 ? "1 comment" : n + " comments";
            for (const el of byUri.get(uri) || []) el.textContent = text;
          }
        })
        .catch(() => warn("no answer, or this origin is not allowed"));
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
  else run();
})();
