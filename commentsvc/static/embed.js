/* commentsvc comment widget. Embed with:
 *   <div id="comments" data-uri="/path/of/post.html"></div>
 *   <script src="https://comments.example.com/embed.js" async></script>
 * Optional on #comments: data-lang (else the page's <html lang>, else English) and
 * data-theme="auto|light|dark" (auto, the default, follows the page's background); on the
 * script tag: data-site, the blog's name on a server that keeps several blogs' comments.
 * Talks only to the origin it was loaded from, sets no cookies, and renders into an open
 * shadow root on #comments. Comment HTML comes sanitised from the server; every other
 * string goes in through textContent.
 *
 * One file, served as it is (minified), in sections: the display rules, the words and the
 * pure helpers come first; Node's unit tests load just those (tests/widget_unit). Then the
 * browser's part: the reader's language, storage, the API client, dates, form fields, the
 * widget and its loading, the thread, the reader's own comments, the comment form. What one
 * widget shows and knows is its context object, `ctx` (see context()), passed to each function.
 */
(() => {
  "use strict";
  performance.mark("commentsvc:start");

  /* ---- display rules: count.js and the no-JS page (commentsvc/widget/display.py) follow
     them too; tests/test_display_rules.py checks that all three agree ---- */

  const NESTING_DEPTH = 4; // levels shown; deeper replies sit beside their parent

  // The form a count takes: the language's "none" for zero if it has one, else its CLDR
  // plural category ("one", "few", ...), else "other".
  function pluralForm(forms, n, category) {
    return (n === 0 && forms.none) || forms[category] || forms.other;
  }

  // The comments as shown, in reading order: each with its depth and the entry (or widget
  // node) it is shown under, or, past the nesting depth, beside (marked "in reply to" it).
  function layout(comments, parent = null, out = []) {
    for (const c of comments) {
      const depth = parent ? Math.min(parent.depth + 1, NESTING_DEPTH - 1) : 0;
      const entry = { c, depth, parent, beside: !!parent && depth === parent.depth };
      out.push(entry);
      layout(c.replies || [], entry, out);
    }
    return out;
  }

  /* ---- words: English here, every other language from i18n/<lang>.json ---- */

  const EN = {
    comments: "Comments",
    count: { none: "No comments", one: "{n} comment", other: "{n} comments" },
    pendingCount: { one: "({n} awaiting moderation)", other: "({n} awaiting moderation)" },
    sort: "Sort",
    oldest: "Oldest first",
    newest: "Newest first",
    top: "Best first",
    loading: "Loading comments…",
    loadFailed: "Comments could not be loaded.",
    retry: "Try again",
    more: "Load more comments",
    loadingMore: "Loading more comments…",
    closed: "Comments are closed.",
    anonymous: "Anonymous",
    deletedName: "a deleted comment",
    deleted: "This comment was deleted.",
    moderator: "moderator",
    inReplyTo: "in reply to {name}",
    edited: "(edited)",
    awaiting: "awaiting moderation",
    voteUp: "Vote up",
    voteDown: "Vote down",
    reply: "Reply",
    replyTo: "Reply to {name}",
    edit: "Edit",
    delete: "Delete",
    published: "Your comment is published.",
    held: "Thank you. Your comment is awaiting moderation; only you can see it for now.",
    changed: "Your comment was changed.",
    changeHeld: "Your change is awaiting moderation; only you can see it for now.",
    wasDeleted: "Your comment was deleted.",
    editPassed: "The time to edit this comment has passed.",
    deletePassed: "The time to delete this comment has passed.",
    editLabel: "Edit your comment",
    save: "Save",
    saving: "Saving…",
    cancel: "Cancel",
    confirmDelete: "Delete this comment?",
    yesDelete: "Yes, delete",
    keep: "Keep it",
    write: "Write a comment",
    comment: "Comment",
    placeholder: "Share your thoughts…",
    name: "Name (optional)",
    email: "E-mail (optional)",
    website: "Website (optional)",
    emailHint: "Never shown publicly. Needed only for reply notifications.",
    markdown: "Markdown works: *italic*, **bold**, [a link](https://example.com), `code`.",
    notify: "E-mail me when someone replies",
    honeypot: "Leave this field empty",
    preview: "Preview",
    postComment: "Post comment",
    postReply: "Post reply",
    nothingToPreview: "Nothing to preview yet.",
    rendering: "Rendering preview…",
    previewShown: "Showing the preview. Press Preview again to go on writing.",
    writeFirst: "Please write a comment first.",
    posting: "Posting…",
    textKept: "Your text is still here.",
    justNow: "just now",
    network: "Could not reach the comment server. Check your connection and try again.",
    origin: "This site is not allowed to load comments from its comment server. The site's " +
      "owner can allow it by adding {origin} to COMMENTSVC_ALLOWED_ORIGINS.",
    httpError: "The comment server could not answer (error {status}).",
    serverError: "The comment server ran into a problem (error {status}). Please try again " +
      "in a little while.",
    tooFast: "You are posting too quickly. Please try again {when}.",
    tooFastLater: "You are posting too quickly. Please try again in a little while.",
  };
  const LANGS = ["en", "de", "fr", "es", "pt-BR", "it", "nl", "pl", "ja", "zh-CN", "ar"];
  const RTL = ["ar"];
  const SORTS = ["oldest", "newest", "top"];

  // The language asked for (data-lang, else the page's), else English; "pt" finds "pt-BR",
  // "de-AT" "de", but Traditional Chinese readers get English rather than Simplified Chinese.
  function pickLanguage(wanted) {
    wanted = wanted.toLowerCase();
    if (/^zh.*(hant|tw|hk|mo)/.test(wanted)) return "en";
    return LANGS.find((l) => l.toLowerCase() === wanted) ||
      LANGS.find((l) => l.split("-")[0] === wanted.split(/[-_]/)[0]) || "en";
  }

  // {placeholders} filled in; in right-to-left text names are isolated, so a Latin name keeps
  // its own order.
  function fill(text, vars, rtl) {
    return text.replace(/\{(\w+)\}/g, (all, name) => (name in vars
      ? (rtl && name === "name" ? "\u2068" + vars[name] + "\u2069" : vars[name]) : all));
  }

  /* ---- pure helpers ---- */

  const UNITS = [["year", 31536e3], ["month", 2592e3], ["week", 604800], ["day", 86400],
    ["hour", 3600], ["minute", 60]];
  const KEEP_OWN = 30 * 86400e3; // own held comments stay visible to their author this long
  const DEFAULT_SITE = "default"; // a server's one blog, when it keeps no others

  // A time `diff` seconds away (negative: in the past) as [number, unit] for
  // Intl.RelativeTimeFormat, or null for less than a minute.
  function relativeTime(diff) {
    for (const [unit, size] of UNITS) {
      if (Math.abs(diff) >= size) return [Math.round(diff / size), unit];
    }
    return null;
  }

  // How long a Retry-After header (seconds or a date) asks to wait, as [number, unit], or null.
  function retryIn(raw, now) {
    let wait = Number(raw);
    if (raw && isNaN(wait)) wait = (Date.parse(raw) - now) / 1000;
    if (!(wait > 0)) return null;
    return wait < 60 ? [Math.ceil(wait), "second"] : [Math.ceil(wait / 60), "minute"];
  }

  // An API address. site= only for a site other than the default, whose URLs (and what
  // caches keep of them) stay as they always were.
  function apiUrl(base, site, path, query) {
    const params = { ...query };
    if (site && site !== DEFAULT_SITE) params.site = site;
    const pairs = Object.entries(params).filter(([, v]) => v != null && v !== "")
      .map(([k, v]) => k + "=" + encodeURIComponent(v));
    return base + path + (pairs.length ? "?" + pairs.join("&") : "");
  }

  // Of stored edit tokens ([key, value] pairs): this thread's that still do something, newest
  // first (50 at most), and the keys of those that can do nothing any more.
  function usefulTokens(entries, uri, now) {
    const mine = [];
    const spent = [];
    for (const [key, own] of entries) {
      if (!own || !own.t || now > own.u + KEEP_OWN) spent.push(key);
      else if (own.uri === uri) mine.push(own);
    }
    return { mine: mine.sort((a, b) => b.u - a.u).slice(0, 50), spent };
  }

  // "dark" or "light" for a CSS rgb()/rgba() colour, null for one mostly see-through.
  function colorScheme(color) {
    const [r, g, b, a = 1] = (color.match(/[\d.]+/g) || []).map(Number);
    if (b === undefined || a <= 0.5) return null;
    return 0.2126 * r + 0.7152 * g + 0.0722 * b < 128 ? "dark" : "light";
  }

  if (typeof document === "undefined") { // loaded by Node for the unit tests: no widget
    if (typeof module === "object") {
      module.exports = { NESTING_DEPTH, DEFAULT_SITE, EN, LANGS, RTL, pluralForm, layout,
        pickLanguage, fill, relativeTime, retryIn, apiUrl, usefulTokens, colorScheme };
    }
    return;
  }

  /* ---- the browser's part: where the service is, the reader's language ---- */

  const script = document.currentScript || document.querySelector('script[src$="/embed.js"]');
  if (!script) return;
  const BASE = new URL(".", script.src).href; // the service, with a trailing slash
  const SITE = script.dataset.site || DEFAULT_SITE;
  const PREFIX = "commentsvc:" + BASE + ":"; // localStorage keys: service origin + what
  const TOKEN_REFRESH = 3600e3; // fetch a fresh form token when the page was open this long
  const WROTE = 60e3; // this long after writing, the reader reads the thread fresh
  let uid = 0;

  // One per page. The first date or number formatter of a page loads the browser's locale
  // data: 25-35 ms. So the comments are first shown with plain dates and digits, and the
  // formatters are made (one of each kind for every comment) once they are on screen; see
  // localise().
  const lang = { tag: "en", words: EN, plural: null, intl: null };

  function useLanguage(tag, catalogue) {
    Object.assign(lang, { tag, words: catalogue || EN, plural: new Intl.PluralRules(tag),
      intl: null });
  }

  function formatters() {
    return lang.intl || (lang.intl = {
      numbers: new Intl.NumberFormat(lang.tag),
      relative: new Intl.RelativeTimeFormat(lang.tag, { numeric: "auto" }),
      exact: new Intl.DateTimeFormat(lang.tag, { dateStyle: "full", timeStyle: "short" }),
    });
  }

  function num(n) {
    return lang.intl ? lang.intl.numbers.format(n) : String(n);
  }

  function rtf() {
    return formatters().relative;
  }

  // A message by key, with {placeholders} filled; counts pick their plural form.
  function t(key, vars) {
    let text = lang.words[key] || EN[key];
    if (!vars) return text;
    if (typeof text === "object") {
      text = pluralForm(text, vars.n, lang.plural.select(vars.n));
      vars = { ...vars, n: num(vars.n) };
    }
    return fill(text, vars, RTL.includes(lang.tag));
  }

  // The words of a language other than English, or null (English, then).
  async function loadWords(tag) {
    if (tag === "en") return null;
    try {
      const res = await fetch(BASE + "i18n/" + tag + ".json", { credentials: "omit" });
      if (res.ok) return await res.json();
    } catch { /* English, then */ }
    return null;
  }

  /* ---- elements, storage, colours ---- */

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const k in attrs) {
      const v = attrs[k];
      if (v == null || v === false) continue;
      if (k === "class") el.className = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : v);
    }
    el.append(...children.filter((c) => c != null && c !== false));
    return el;
  }

  // This service's entries in localStorage. Which keys exist is read once per thread load,
  // so rendering a comment reads storage only for the comments this reader touched.
  const store = {
    known: new Set(),
    get(key) {
      try { return JSON.parse(localStorage.getItem(PREFIX + key)); } catch { return null; }
    },
    set(key, value) {
      store.known.add(key);
      try { localStorage.setItem(PREFIX + key, JSON.stringify(value)); } catch { /* private mode */ }
    },
    del(key) {
      store.known.delete(key);
      try { localStorage.removeItem(PREFIX + key); } catch { /* private mode */ }
    },
    mine(key) {
      return store.known.has(key) ? store.get(key) : null;
    },
    scan() {
      store.known = new Set();
      try {
        for (let i = 0; i < localStorage.length; i++) {
          const key = localStorage.key(i);
          if (key.startsWith(PREFIX)) store.known.add(key.slice(PREFIX.length));
        }
      } catch { /* storage disabled */ }
      return [...store.known];
    },
    tokenKeys() {
      return store.scan().filter((key) => key.startsWith("token:"));
    },
  };

  // Edit tokens of this reader's comments on one thread; drops those that can do nothing.
  function ownTokens(uri) {
    const keys = store.tokenKeys();
    const { mine, spent } = usefulTokens(keys.map((key) => [key, store.get(key)]), uri, Date.now());
    for (const key of spent) store.del(key);
    return mine;
  }

  // The page's own background decides light or dark; the system's only when it has none.
  function scheme(host) {
    const forced = host.dataset.theme;
    if (forced === "light" || forced === "dark") return forced;
    for (let el = host; el; el = el.parentElement) {
      const found = colorScheme(getComputedStyle(el).backgroundColor);
      if (found) return found;
    }
    return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  // A reader is a random token kept in this browser: no cookie, no account.
  function voter() {
    let token = store.get("voter");
    if (!/^[A-Za-z0-9_-]{16,128}$/.test(token || "")) {
      const bytes = crypto.getRandomValues(new Uint8Array(18));
      token = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
      store.set("voter", token);
    }
    return token;
  }

  /* ---- the API client ---- */

  class ApiError extends Error {
    constructor(status, code, message, fields) {
      super(message);
      this.status = status;
      this.code = code;
      this.fields = fields || {};
    }
  }

  // A failed cross-origin request looks the same whether the server refused this page's
  // origin or could not be reached: a second, small request tells them apart. If it fails as
  // a cross-origin request but goes through as a no-cors one (which needs no permission), the
  // server is there and refuses this origin.
  async function unreachable() {
    const network = new ApiError(0, "network", t("network"));
    const probe = (mode) => fetch(apiUrl(BASE, SITE, "api/counts"),
      { mode, credentials: "omit", cache: "no-store" });
    try {
      await probe("cors");
      return network;
    } catch { /* refused or unreachable: ask without permission */ }
    try {
      await probe("no-cors");
    } catch {
      return network;
    }
    return new ApiError(0, "origin", t("origin", { origin: location.origin }));
  }

  // The one way the widget talks to the service: every failure becomes a readable message.
  // A reader who just wrote something reads the thread fresh, not from a cache's copy.
  async function api(method, path, { query, body, headers } = {}) {
    const init = { method, headers: { "Accept-Language": lang.tag, ...headers },
      credentials: "omit", mode: "cors" };
    if (method !== "GET") store.set("wrote", Date.now());
    else if (Date.now() - (store.get("wrote") || 0) < WROTE) init.cache = "no-cache";
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(apiUrl(BASE, SITE, path, query), init);
    } catch {
      throw await unreachable();
    }
    let data = null;
    try { data = await res.json(); } catch { /* not JSON */ }
    if (res.ok && data) return data;
    throw refusal(res, data);
  }

  // What an answer other than success says, in the reader's words where the server has none.
  function refusal(res, data) {
    const err = (data && data.error) || {};
    const status = res.status;
    let message = err.message || t("httpError", { status });
    if (status >= 500) message = t("serverError", { status });
    if (status === 429) {
      const wait = retryIn(res.headers.get("Retry-After"), Date.now());
      message = wait ? t("tooFast", { when: rtf().format(...wait) }) : t("tooFastLater");
    }
    return new ApiError(status, err.code || "http", message, err.fields);
  }

  /* ---- dates and numbers the reader's way ---- */

  function ago(date) {
    const diff = relativeTime((date - Date.now()) / 1000);
    return diff ? rtf().format(...diff) : t("justNow");
  }

  // "3 days ago" with the exact time as its title once the formatters exist; the date until.
  function timeElement(iso) {
    const el = h("time", { datetime: iso }, iso.slice(0, 10));
    if (lang.intl) setTime(el);
    return el;
  }

  function setTime(el) {
    const date = new Date(el.getAttribute("datetime"));
    el.textContent = ago(date);
    el.title = lang.intl.exact.format(date);
  }

  // After the first paint: dates and numbers shown so far are written the reader's way.
  function localise(root, done) {
    requestAnimationFrame(() => setTimeout(() => {
      formatters();
      for (const el of root.querySelectorAll("time[datetime]")) setTime(el);
      for (const el of root.querySelectorAll("[data-n]")) el.textContent = num(+el.dataset.n);
      done();
    }));
  }

  /* ---- form fields ---- */

  function field(name, label, control, hint) {
    const fid = control.id;
    const err = h("p", { class: "csvc-error", id: fid + "-err", hidden: true });
    const hintEl = hint && h("p", { class: "csvc-hint", id: fid + "-hint" }, hint);
    if (hint) control.setAttribute("aria-describedby", fid + "-hint");
    return { name, control, err, hint: hintEl,
      wrap: h("div", { class: "csvc-field csvc-field-" + name },
        h("label", { for: fid }, label), control, err) };
  }

  // Name, e-mail and website come back from the reader's last comment (this browser only).
  function readerFields(fid, rows) {
    const profile = store.get("profile") || {};
    const input = (name, type, auto, max) => {
      const el = h("input", { id: fid + name, name, type, autocomplete: auto, maxlength: max,
        dir: type === "text" ? null : "ltr" });
      el.value = profile[name] || "";
      return el;
    };
    return [
      field("text", t("comment"), h("textarea", { id: fid + "text", name: "text", rows,
        maxlength: "10000", required: true, placeholder: t("placeholder") }), t("markdown")),
      field("author", t("name"), input("author", "text", "name", "80")),
      field("email", t("email"), input("email", "email", "email", "254"), t("emailHint")),
      field("website", t("website"), input("website", "url", "url", "500")),
    ];
  }

  // Each field's messages next to it, tied to it for screen readers; returns the first invalid.
  function showFieldErrors(fields, errors) {
    let first = null;
    for (const f of fields) {
      const messages = errors[f.name];
      const described = [f.hint && f.hint.id, messages && f.err.id].filter(Boolean).join(" ");
      f.err.textContent = messages ? messages.join(" ") : "";
      f.err.hidden = !messages;
      if (messages) f.control.setAttribute("aria-invalid", "true");
      else f.control.removeAttribute("aria-invalid");
      if (described) f.control.setAttribute("aria-describedby", described);
      if (messages && !first) first = f.control;
    }
    return first;
  }

  // Preview of a textarea's Markdown, rendered by the server's own renderer.
  function previewer(textarea, note) {
    const pane = h("div", { class: "csvc-preview csvc-body", hidden: true, tabindex: "-1" });
    const set = (on) => {
      button.setAttribute("aria-pressed", String(on));
      pane.hidden = !on;
      textarea.hidden = on;
    };
    const button = h("button", { type: "button", class: "csvc-button csvc-secondary",
      "aria-pressed": "false", onclick: async () => {
        if (!pane.hidden) {
          set(false);
          textarea.focus();
          return;
        }
        if (!textarea.value.trim()) {
          note.textContent = t("nothingToPreview");
          return;
        }
        note.textContent = t("rendering");
        try {
          const data = await api("POST", "api/preview", { body: { text: textarea.value } });
          pane.innerHTML = data.html; // sanitised by the same renderer as saved comments
          set(true);
          note.textContent = t("previewShown");
        } catch (e) {
          note.textContent = e.message;
        }
      } }, t("preview"));
    textarea.after(pane);
    return { button, off: () => set(false) };
  }

  /* ---- the widget: its context, its frame, loading the thread ---- */

  // What one widget shows and knows, shared by the functions below: made here, its shadow
  // root added by mount() and its elements by frame().
  function context(host) {
    const sort = store.get("sort");
    return {
      host,
      uri: host.dataset.uri || location.pathname,
      title: host.dataset.title || document.title,
      id: "csvc" + ++uid + "-",
      nodes: new Map(), // comment id -> {c, li, article, depth, name, inReplyTo, kids, timer}
      state: { token: null, tokenAt: 0, asking: null, minAge: 3, count: 0, closed: false,
        next: null, sort: SORTS.includes(sort) ? sort : "oldest" },
    };
  }

  async function mount(host) {
    const ctx = context(host);
    lang.tag = pickLanguage(host.dataset.lang || document.documentElement.lang || "");
    // The thread first, then the stylesheet and the words: all three load side by side.
    const first = fetchThread(ctx).catch((e) => e);
    const css = h("link", { rel: "stylesheet", href: BASE + "widget.css" });
    const styled = new Promise((done) => {
      css.addEventListener("load", done);
      css.addEventListener("error", done);
    });
    ctx.root = host.shadowRoot || host.attachShadow({ mode: "open" });
    ctx.root.replaceChildren(css);
    const catalogue = await loadWords(lang.tag);
    useLanguage(catalogue ? lang.tag : "en", catalogue);
    frame(ctx);
    // The comments are built as soon as they arrive, while the stylesheet may still be on its
    // way. No inline styles anywhere (strict CSP): the widget waits for its stylesheet, then
    // appears with its comments in one go (one layout and paint, not two), or saying it is
    // loading them when they take longer than a moment.
    const built = build(ctx, first);
    await Promise.all([styled, Promise.race([built, new Promise((done) => setTimeout(done, 300))])]);
    ctx.root.append(ctx.box);
    if (await built) shown(ctx);
  }

  // The widget's lasting elements: heading and sort, status lines, form, list, "load more".
  function frame(ctx) {
    const { id, state } = ctx;
    const sorter = h("select", { id: id + "s", onchange: () => {
      state.sort = sorter.value;
      store.set("sort", state.sort);
      load(ctx);
    } }, ...SORTS.map((value) => h("option", { value, selected: value === state.sort }, t(value))));
    Object.assign(ctx, {
      heading: h("h2", { class: "csvc-count", id: id + "h", tabindex: "-1" }, t("comments")),
      status: h("p", { class: "csvc-status", role: "status" }),
      live: h("p", { class: "csvc-live", role: "status" }),
      list: h("ol", { class: "csvc-list" }),
      more: h("button", { type: "button", class: "csvc-more", hidden: true,
        onclick: () => loadMore(ctx) }, t("more")),
      formSlot: h("div", { class: "csvc-main-form" }),
      form: commentForm(ctx, null), // made while the thread is on its way, shown with it
    });
    const bar = h("div", { class: "csvc-bar" }, ctx.heading,
      h("label", { class: "csvc-sort", for: id + "s" }, t("sort"), " ", sorter));
    ctx.box = h("section", { class: "csvc csvc-" + scheme(ctx.host), "aria-labelledby": id + "h",
      lang: lang.tag, dir: RTL.includes(lang.tag) ? "rtl" : "ltr" },
    bar, ctx.status, ctx.live, ctx.formSlot, ctx.list, ctx.more);
    ctx.box.addEventListener("focusin", (ev) => {
      if (ev.target.closest("form")) askToken(ctx).catch(() => {});
    });
  }

  // Announced to screen readers; shown next to what it is about when there is such a place.
  function say(ctx, text, near) {
    ctx.live.textContent = text;
    for (const old of ctx.box.querySelectorAll(".csvc-msg")) old.remove();
    if (near && text) near.append(h("p", { class: "csvc-msg" }, text));
  }

  // The heading counts what this reader sees: published comments and their own held ones.
  function setCount(ctx, n) {
    ctx.state.count = Math.max(0, n);
    let held = 0;
    for (const node of ctx.nodes.values()) if (node.c.status === "pending") held++;
    ctx.heading.replaceChildren(t("count", { n: ctx.state.count + held }),
      held ? h("span", { class: "csvc-count-held" }, " ", t("pendingCount", { n: held })) : "");
  }

  // One page of the thread, with the reader's own held comments (their edit tokens).
  function fetchThread(ctx, after) {
    const tokens = ownTokens(ctx.uri);
    return api("GET", "api/threads", {
      query: { uri: ctx.uri, sort: ctx.state.sort, after },
      headers: tokens.length ? { "X-Edit-Tokens": tokens.map((o) => o.t).join(",") } : {},
    });
  }

  function takeThread(ctx, data) {
    const { state } = ctx;
    if (Number.isFinite(data.min_submit_seconds)) state.minAge = data.min_submit_seconds;
    state.closed = !!data.closed;
    state.next = data.next || null;
    ctx.more.hidden = !state.next;
  }

  async function load(ctx) {
    if (await build(ctx)) shown(ctx);
  }

  // The thread (one fetched early, or a fresh one) in the list; false when it failed.
  async function build(ctx, early) {
    const { box, status } = ctx;
    box.setAttribute("aria-busy", "true");
    status.textContent = t("loading");
    const data = await (early || fetchThread(ctx).catch((e) => e));
    box.setAttribute("aria-busy", "false");
    if (data instanceof Error) {
      status.textContent = t("loadFailed") + " " + data.message;
      ctx.formSlot.replaceChildren(h("button", { type: "button", class: "csvc-button",
        onclick: () => load(ctx) }, t("retry")));
      return false;
    }
    takeThread(ctx, data);
    performance.mark("commentsvc:data");
    status.textContent = "";
    showThread(ctx, data);
    performance.mark("commentsvc:built");
    if (!ctx.formSlot.querySelector("form")) {
      ctx.formSlot.replaceChildren(ctx.state.closed ? h("p", { class: "csvc-closed" }, t("closed"))
        : ctx.form);
    }
    return true;
  }

  // The comments are in the page: dates the reader's way, and the comment a link points to.
  function shown(ctx) {
    performance.mark("commentsvc:rendered");
    localise(ctx.list, () => setCount(ctx, ctx.state.count));
    const target = location.hash.match(/^#comment-(\d+)$/);
    const node = target && ctx.nodes.get(Number(target[1]));
    if (node) node.article.scrollIntoView();
  }

  // Built while detached, then attached once: one style and layout pass for the lot.
  function showThread(ctx, data) {
    const { box, list } = ctx;
    const spot = list.nextSibling;
    list.remove();
    list.replaceChildren();
    ctx.nodes.clear();
    renderComments(ctx, data.comments);
    box.insertBefore(list, spot);
    setCount(ctx, data.count);
  }

  async function loadMore(ctx) {
    const { more } = ctx;
    more.disabled = true;
    say(ctx, t("loadingMore"));
    try {
      const data = await fetchThread(ctx, ctx.state.next);
      takeThread(ctx, data);
      const first = renderComments(ctx, data.comments);
      setCount(ctx, ctx.state.count);
      say(ctx, "");
      if (first) first.article.focus();
    } catch (e) {
      say(ctx, e.message, more.parentNode);
    } finally {
      more.disabled = false;
    }
  }

  // The thread is a public page that caches may keep, so the form token (each works once)
  // is asked for apart, when the reader starts writing.
  function askToken(ctx) {
    const { state } = ctx;
    if (!state.asking && (!state.token || Date.now() - state.tokenAt >= TOKEN_REFRESH)) {
      state.asking = api("GET", "api/form-token", { query: { uri: ctx.uri } }).then((data) => {
        state.token = data.form_token;
        state.tokenAt = Date.now();
        state.minAge = data.min_submit_seconds;
      }).finally(() => { state.asking = null; });
    }
    return state.asking || Promise.resolve();
  }

  // Each form token works once, and not before it is minAge seconds old (sooner is a
  // bot's pace): take it for this post, waiting out the rest of that time if need be.
  async function freshToken(ctx) {
    const { state } = ctx;
    await askToken(ctx);
    const token = state.token;
    const wait = state.tokenAt + state.minAge * 1000 + 250 - Date.now();
    state.token = null;
    if (wait > 0) await new Promise((done) => setTimeout(done, wait));
    return token;
  }

  /* ---- the thread: comments, votes, replies ---- */

  // Shows comments and their replies at the end of the list, or as replies to a node;
  // returns the first one's node.
  function renderComments(ctx, comments, parent = null) {
    const shown = new Map(); // layout entry -> its node
    for (const entry of layout(comments, parent)) {
      shown.set(entry, renderComment(ctx, entry, shown.get(entry.parent) || entry.parent));
    }
    return shown.values().next().value;
  }

  function renderComment(ctx, { c, depth, beside }, above) {
    const container = !above ? ctx.list : beside ? above.li.parentNode : repliesOf(above);
    const deleted = c.status === "deleted";
    const name = deleted ? t("deletedName") : c.author || t("anonymous");
    const article = h("article", { class: "csvc-comment", id: "comment-" + c.id, tabindex: "-1" });
    const li = h("li", { class: "csvc-item" }, article);
    container.append(li);
    const node = { c, li, article, depth, name, inReplyTo: beside ? above.name : null, kids: null };
    ctx.nodes.set(c.id, node);
    fillComment(ctx, node);
    return node;
  }

  // The list a node's nested replies go in, made with the first of them.
  function repliesOf(node) {
    if (!node.kids) node.li.append(node.kids = h("ol", { class: "csvc-replies" }));
    return node.kids;
  }

  function authorLine(node) {
    const { c } = node;
    const author = c.author || t("anonymous");
    const site = c.website && /^https?:\/\//i.test(c.website) ? c.website : null;
    return h("header", { class: "csvc-meta" },
      /^[0-9a-f]{16}$/.test(c.avatar || "") &&
        h("img", { class: "csvc-avatar", src: BASE + "avatars/" + c.avatar + ".svg", alt: "",
          width: "40", height: "40", loading: "lazy" }),
      site ? h("a", { class: "csvc-author", href: site, rel: "nofollow ugc noopener" }, author)
        : h("span", { class: "csvc-author" }, author),
      c.moderator && h("span", { class: "csvc-badge" }, t("moderator")),
      node.inReplyTo && h("span", { class: "csvc-in-reply" },
        t("inReplyTo", { name: node.inReplyTo })),
      h("a", { class: "csvc-permalink", href: "#comment-" + c.id }, timeElement(c.created)),
      c.edited && h("span", { class: "csvc-edited" }, t("edited")),
      c.status === "pending" && h("span", { class: "csvc-pending-note" }, t("awaiting")));
  }

  function fillComment(ctx, node) {
    const { c, article } = node;
    const deleted = c.status === "deleted";
    article.classList.toggle("csvc-is-pending", c.status === "pending");
    article.classList.toggle("csvc-is-deleted", deleted);
    if (deleted) {
      article.replaceChildren(h("p", { class: "csvc-body csvc-deleted" }, t("deleted")));
      return;
    }
    const body = h("div", { class: "csvc-body", dir: "auto" });
    body.innerHTML = c.html; // sanitised by the server's renderer; the only HTML we insert
    article.replaceChildren(authorLine(node), body, commentActions(ctx, node));
  }

  // Votes, Reply, and Edit and Delete on the reader's own comment while its token lasts.
  function commentActions(ctx, node) {
    const { c } = node;
    const actions = h("div", { class: "csvc-actions" },
      c.status === "approved" && voteControl(ctx, node));
    if (!ctx.state.closed) {
      actions.append(h("button", { type: "button", class: "csvc-link",
        onclick: () => openReply(ctx, node),
        "aria-label": t("replyTo", { name: c.author || t("anonymous") }) }, t("reply")));
    }
    const own = store.mine("token:" + c.id);
    const left = own ? own.u - Date.now() : 0;
    // A token still shows its holder a held comment; for a published one it is spent.
    if (own && left <= 0 && c.status !== "pending") store.del("token:" + c.id);
    if (left > 0) {
      // A closed thread takes no edits; withdrawing one's own comment stays possible.
      const edit = !ctx.state.closed && h("button", { type: "button", class: "csvc-link",
        onclick: () => openEdit(ctx, node, own) }, t("edit"));
      const del = h("button", { type: "button", class: "csvc-link",
        onclick: () => askDelete(ctx, node, own) }, t("delete"));
      if (edit) actions.append(edit);
      actions.append(del);
      clearTimeout(node.timer);
      node.timer = setTimeout(() => { if (edit) edit.remove(); del.remove(); }, left);
    }
    return actions;
  }

  function voteControl(ctx, node) {
    const { c } = node;
    const score = h("span", { class: "csvc-score", "aria-live": "polite", "data-n": c.score || 0 },
      num(c.score || 0));
    const button = (value, glyph, label) => h("button", { type: "button", class: "csvc-vote",
      "aria-label": label, "aria-pressed": String(store.mine("vote:" + c.id) === value),
      onclick: (ev) => vote(ctx, node, value, ev.currentTarget, score) }, glyph);
    return h("span", { class: "csvc-votes" }, button(1, "▲", t("voteUp")), score,
      button(-1, "▼", t("voteDown")));
  }

  // Pressing a pressed arrow takes the vote back.
  async function vote(ctx, node, value, pressed, score) {
    const { c } = node;
    const next = (store.mine("vote:" + c.id) || 0) === value ? 0 : value;
    try {
      const data = await api("POST", "api/comments/" + c.id + "/vote",
        { body: { value: next, voter: voter() } });
      c.score = data.score;
      score.dataset.n = data.score;
      score.textContent = num(data.score);
      store.set("vote:" + c.id, next);
      for (const b of pressed.parentNode.querySelectorAll(".csvc-vote")) {
        b.setAttribute("aria-pressed", String(b === pressed && next !== 0));
      }
    } catch (e) {
      say(ctx, e.message, node.article);
    }
  }

  function openReply(ctx, node) {
    const open = ctx.box.querySelector(".csvc-reply-form");
    if (open) open.remove();
    const form = commentForm(ctx, node);
    node.article.after(form);
    form.querySelector("textarea").focus();
  }

  function hasReplies(ctx, node) {
    for (const other of ctx.nodes.values()) {
      if (other.c.parent_id === node.c.id && other.c.status !== "deleted") return true;
    }
    return false;
  }

  function commentPosted(ctx, c, parent) {
    c.replies = [];
    const node = renderComments(ctx, [c], parent);
    setCount(ctx, ctx.state.count + (c.status === "approved"));
    say(ctx, c.status === "approved" ? t("published") : t("held"), node.article);
    node.article.focus();
  }

  /* ---- the reader's own comments: edit and delete with the tokens kept in localStorage ---- */

  // The server's clock says the window has closed: no more Edit or Delete. The token is
  // kept, so a held comment stays visible to its author.
  function expired(node, own, e) {
    if (e.code !== "token_expired") return false;
    own.u = Math.min(own.u, Date.now());
    store.set("token:" + node.c.id, own);
    return true;
  }

  // The author line stays; the text becomes a box with Save, Preview and Cancel.
  function openEdit(ctx, node, own) {
    const { c, article } = node;
    const fid = ctx.id + "e" + c.id;
    const text = h("textarea", { id: fid, name: "text", rows: "4", maxlength: "10000" });
    text.value = own.text || article.querySelector(".csvc-body").textContent;
    const note = h("p", { class: "csvc-status", role: "status" });
    const cancel = () => { fillComment(ctx, node); article.focus(); };
    const label = h("label", { for: fid, class: "csvc-sr" }, t("editLabel"));
    const form = h("form", { class: "csvc-form csvc-edit-form", novalidate: true }, label, text);
    const preview = previewer(text, note);
    form.append(h("div", { class: "csvc-foot" },
      h("div", { class: "csvc-buttons" }, preview.button,
        h("button", { type: "button", class: "csvc-button csvc-secondary", onclick: cancel }, t("cancel")),
        h("button", { type: "submit", class: "csvc-button" }, t("save")))),
    note);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      saveEdit(ctx, node, own, { text, note, preview });
    });
    form.addEventListener("keydown", (ev) => { if (ev.key === "Escape") cancel(); });
    article.replaceChildren(authorLine(node), form);
    text.focus();
  }

  async function saveEdit(ctx, node, own, { text, note, preview }) {
    const { c, article } = node;
    note.textContent = t("saving");
    try {
      const updated = await api("PATCH", "api/comments/" + c.id,
        { body: { text: text.value }, headers: { Authorization: "Bearer " + own.t } });
      own.text = text.value;
      store.set("token:" + c.id, own);
      node.c = { ...c, ...updated, replies: c.replies };
      fillComment(ctx, node);
      const held = updated.status === "pending" && c.status === "approved";
      setCount(ctx, ctx.state.count - held);
      say(ctx, held ? t("changeHeld") : t("changed"), article);
      article.focus();
    } catch (e) {
      preview.off();
      note.textContent = expired(node, own, e) ? t("editPassed") : e.message;
    }
  }

  function askDelete(ctx, node, own) {
    const actions = node.article.querySelector(".csvc-actions");
    const keep = () => { fillComment(ctx, node); node.article.focus(); };
    const confirm = h("div", { class: "csvc-confirm", role: "group", "aria-label": t("confirmDelete") },
      h("span", null, t("confirmDelete")),
      h("button", { type: "button", class: "csvc-button csvc-danger",
        onclick: () => doDelete(ctx, node, own) }, t("yesDelete")),
      h("button", { type: "button", class: "csvc-button csvc-secondary", onclick: keep }, t("keep")));
    actions.replaceChildren(confirm);
    confirm.querySelector("button").focus();
  }

  async function doDelete(ctx, node, own) {
    const { c } = node;
    try {
      await api("DELETE", "api/comments/" + c.id, { headers: { Authorization: "Bearer " + own.t } });
    } catch (e) {
      if (expired(node, own, e)) {
        fillComment(ctx, node);
        say(ctx, t("deletePassed"), node.article);
      } else say(ctx, e.message, node.article);
      node.article.focus();
      return;
    }
    store.del("token:" + c.id);
    const place = removeComment(ctx, node);
    setCount(ctx, ctx.state.count - (c.status === "approved"));
    say(ctx, t("wasDeleted"), place);
    ctx.heading.focus();
  }

  // A comment with replies stays as "deleted"; one without leaves the thread, and the place
  // where the message about it goes is returned.
  function removeComment(ctx, node) {
    const { c } = node;
    if (hasReplies(ctx, node)) {
      node.c = { ...c, status: "deleted", author: null, website: null, html: "" };
      fillComment(ctx, node);
      return node.article;
    }
    const place = h("li", { class: "csvc-item" });
    node.li.replaceWith(place);
    ctx.nodes.delete(c.id);
    return place;
  }

  /* ---- the comment form (top level and inline replies) ---- */

  function commentForm(ctx, parent) {
    const fid = ctx.id + "f" + ++uid + "-";
    const fields = readerFields(fid, parent ? "3" : "4");
    const [text, ...who] = fields;
    const note = h("p", { class: "csvc-status", role: "status" });
    // The form's parts and state, for the functions that check and send it.
    const form = { ctx, parent, fields, note, busy: false, textarea: text.control,
      preview: previewer(text.control, note),
      notify: h("input", { id: fid + "notify", name: "notify", type: "checkbox" }),
      hp: h("input", { id: fid + "hp", name: "hp", type: "text", tabindex: "-1", autocomplete: "off" }),
      submit: h("button", { type: "submit", class: "csvc-button" },
        parent ? t("postReply") : t("postComment")) };
    const cancel = () => { form.el.remove(); parent.article.focus(); };
    form.el = h("form", { class: "csvc-form" + (parent ? " csvc-reply-form" : ""), novalidate: true,
      "aria-labelledby": fid + "title" },
    h(parent ? "p" : "h3", { class: parent ? "csvc-replying" : "csvc-form-title", id: fid + "title" },
      parent ? t("replyTo", { name: parent.name }) : t("write")),
    text.wrap,
    h("div", { class: "csvc-who" }, ...who.map((w) => w.wrap)),
    h("div", { class: "csvc-check" }, form.notify,
      h("label", { for: fid + "notify" }, t("notify")), " ", who[1].hint),
    h("div", { class: "csvc-hp", "aria-hidden": "true" },
      h("label", { for: fid + "hp" }, t("honeypot")), form.hp),
    h("div", { class: "csvc-foot" }, text.hint,
      h("div", { class: "csvc-buttons" }, form.preview.button,
        parent && h("button", { type: "button", class: "csvc-button csvc-secondary", onclick: cancel },
          t("cancel")),
        form.submit)),
    note);
    if (parent) form.el.addEventListener("keydown", (ev) => { if (ev.key === "Escape") cancel(); });
    form.el.addEventListener("submit", (ev) => submitComment(form, ev));
    return form.el;
  }

  function markErrors(form, errors) {
    const invalid = showFieldErrors(form.fields, errors);
    if (invalid) {
      if (invalid === form.textarea) form.preview.off();
      invalid.focus();
    }
  }

  async function submitComment(form, ev) {
    ev.preventDefault();
    if (form.busy) return;
    const v = Object.fromEntries(form.fields.map((f) => [f.name, f.control.value]));
    if (!v.text.trim()) {
      markErrors(form, { text: [t("writeFirst")] });
      form.note.textContent = t("writeFirst");
      return;
    }
    markErrors(form, {});
    store.set("profile", { author: v.author, email: v.email, website: v.website });
    form.busy = true;
    form.submit.setAttribute("aria-disabled", "true");
    form.note.textContent = t("posting");
    let token = null;
    try {
      token = await freshToken(form.ctx);
      await postComment(form, v, token);
    } catch (e) {
      // A refused post did not use its token (a lost answer may have): keep it for the retry.
      if (token && !form.ctx.state.token && e.code !== "network") form.ctx.state.token = token;
      postRefused(form, e);
    } finally {
      form.busy = false;
      form.submit.removeAttribute("aria-disabled");
    }
  }

  async function postComment(form, v, token) {
    const { ctx, parent } = form;
    const c = await api("POST", "api/comments", { body: {
      uri: ctx.uri, title: ctx.title, parent_id: parent ? parent.c.id : null,
      author: v.author, email: v.email, website: v.website, text: v.text,
      notify: form.notify.checked, form_token: token, hp: form.hp.value,
    } });
    store.set("token:" + c.id, { t: c.edit_token, u: Date.parse(c.edit_until), uri: ctx.uri,
      text: v.text });
    // A form token works once; the answer brings the next one.
    ctx.state.token = c.form_token || null;
    ctx.state.tokenAt = Date.now();
    if (parent) form.el.remove();
    else {
      form.textarea.value = "";
      form.note.textContent = "";
      form.preview.off();
    }
    commentPosted(ctx, c, parent);
  }

  function postRefused(form, e) {
    markErrors(form, e.fields);
    // Problems with fields that are not on the form (uri, parent) go into the message.
    const other = Object.entries(e.fields).filter(([k]) => !form.fields.some((f) => f.name === k));
    form.note.textContent = [e.message, ...other.map(([, m]) => m.join(" ")),
      e.code === "network" ? t("textKept") : ""].join(" ").trim();
    if (e.code === "closed") form.ctx.state.closed = true;
  }

  // Under the #comments element (where the script usually is) the thread is asked for at
  // once, without waiting for the rest of the page.
  const host = document.getElementById("comments");
  if (host) mount(host);
  else {
    document.addEventListener("DOMContentLoaded", () => {
      const late = document.getElementById("comments");
      if (late) mount(late);
    });
  }
})();
