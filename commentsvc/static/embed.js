/* commentsvc comment widget. Embed with:
 *   <div id="comments" data-uri="/path/of/post.html"></div>
 *   <script src="https://comments.example.com/embed.js" async></script>
 * Optional on #comments: data-lang (else the page's <html lang>, else English) and
 * data-theme="auto|light|dark" (auto, the default, follows the page's background).
 * Talks only to the origin it was loaded from, sets no cookies, and renders into an open
 * shadow root on #comments. Comment HTML comes sanitised from the server; every other
 * string goes in through textContent.
 */
(() => {
  "use strict";
  performance.mark("commentsvc:start");

  const script = document.currentScript || document.querySelector('script[src$="/embed.js"]');
  if (!script) return;
  const BASE = new URL(".", script.src).href; // the service, with a trailing slash
  const PREFIX = "commentsvc:" + BASE + ":"; // localStorage keys: service origin + what
  const MAX_DEPTH = 4; // nesting levels shown; deeper replies attach at the last level
  const KEEP_OWN = 30 * 86400e3; // own held comments stay visible to their author this long
  const TOKEN_REFRESH = 3600e3; // fetch a fresh form token when the page was open this long
  let uid = 0;

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
  let words = EN;
  let lang = "en";
  let plural, intl;

  // data-lang, else the page's language, else English; "pt" finds "pt-BR", "de-AT" "de",
  // but Traditional Chinese readers get English rather than Simplified Chinese.
  function pickLanguage(host) {
    const wanted = (host.dataset.lang || document.documentElement.lang || "").toLowerCase();
    if (/^zh.*(hant|tw|hk|mo)/.test(wanted)) return "en";
    return LANGS.find((l) => l.toLowerCase() === wanted) ||
      LANGS.find((l) => l.split("-")[0] === wanted.split(/[-_]/)[0]) || "en";
  }

  // The first date or number formatter of a page loads the browser's locale data: 25-35 ms.
  // So the comments are first shown with plain dates and digits, and the formatters are made
  // (one of each kind for every comment) once they are on screen; see localise().
  function useLanguage(tag, catalogue) {
    lang = tag;
    words = catalogue || EN;
    plural = new Intl.PluralRules(tag);
    intl = null;
  }

  function formatters() {
    return intl || (intl = {
      numbers: new Intl.NumberFormat(lang),
      relative: new Intl.RelativeTimeFormat(lang, { numeric: "auto" }),
      exact: new Intl.DateTimeFormat(lang, { dateStyle: "full", timeStyle: "short" }),
    });
  }

  function num(n) {
    return intl ? intl.numbers.format(n) : String(n);
  }

  function rtf() {
    return formatters().relative;
  }

  // A message by key, with {placeholders} filled; counts pick their plural form.
  function t(key, vars) {
    let text = words[key] || EN[key];
    if (!vars) return text;
    if (typeof text === "object") {
      const forms = text;
      text = (vars.n === 0 && forms.none) || forms[plural.select(vars.n)] || forms.other;
      vars = { ...vars, n: num(vars.n) };
    }
    // In right-to-left text names are isolated, so a Latin name keeps its own order.
    const rtl = RTL.includes(lang);
    return text.replace(/\{(\w+)\}/g, (all, name) => (name in vars
      ? (rtl && name === "name" ? "\u2068" + vars[name] + "\u2069" : vars[name]) : all));
  }

  /* ---- small helpers ---- */

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
    const now = Date.now();
    const out = [];
    for (const key of store.tokenKeys()) {
      const own = store.get(key);
      if (!own || !own.t || now > own.u + KEEP_OWN) store.del(key);
      else if (own.uri === uri) out.push(own);
    }
    return out.sort((a, b) => b.u - a.u).slice(0, 50);
  }

  // The page's own background decides light or dark; the system's only when it has none.
  function scheme(host) {
    const forced = host.dataset.theme;
    if (forced === "light" || forced === "dark") return forced;
    for (let el = host; el; el = el.parentElement) {
      const [r, g, b, a = 1] = (getComputedStyle(el).backgroundColor.match(/[\d.]+/g) || [])
        .map(Number);
      if (b !== undefined && a > 0.5) {
        return 0.2126 * r + 0.7152 * g + 0.0722 * b < 128 ? "dark" : "light";
      }
    }
    return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

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
    const probe = (mode) => fetch(BASE + "api/counts", { mode, credentials: "omit",
      cache: "no-store" });
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
  const WROTE = 60e3;
  async function api(method, path, body, headers) {
    const init = { method, headers: { "Accept-Language": lang, ...headers }, credentials: "omit",
      mode: "cors" };
    if (method !== "GET") store.set("wrote", Date.now());
    else if (Date.now() - (store.get("wrote") || 0) < WROTE) init.cache = "no-cache";
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(BASE + path, init);
    } catch {
      throw await unreachable();
    }
    let data = null;
    try { data = await res.json(); } catch { /* not JSON */ }
    if (res.ok && data) return data;
    const err = (data && data.error) || {};
    const status = res.status;
    let message = err.message || t("httpError", { status });
    if (status >= 500) message = t("serverError", { status });
    if (status === 429) {
      const raw = res.headers.get("Retry-After");
      let wait = Number(raw);
      if (raw && isNaN(wait)) wait = (Date.parse(raw) - Date.now()) / 1000;
      message = wait > 0 ? t("tooFast", { when: wait < 60
        ? rtf().format(Math.ceil(wait), "second") : rtf().format(Math.ceil(wait / 60), "minute") })
        : t("tooFastLater");
    }
    throw new ApiError(status, err.code || "http", message, err.fields);
  }

  const UNITS = [["year", 31536e3], ["month", 2592e3], ["week", 604800], ["day", 86400],
    ["hour", 3600], ["minute", 60]];

  function ago(date) {
    const diff = (date - Date.now()) / 1000;
    for (const [unit, size] of UNITS) {
      if (Math.abs(diff) >= size) return rtf().format(Math.round(diff / size), unit);
    }
    return t("justNow");
  }

  // "3 days ago" with the exact time as its title once the formatters exist; the date until.
  function timeElement(iso) {
    const el = h("time", { datetime: iso }, iso.slice(0, 10));
    if (intl) setTime(el);
    return el;
  }

  function setTime(el) {
    const date = new Date(el.getAttribute("datetime"));
    el.textContent = ago(date);
    el.title = intl.exact.format(date);
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
          const data = await api("POST", "api/preview", { text: textarea.value });
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

  /* ---- the widget ---- */

  async function mount(host) {
    const uri = host.dataset.uri || location.pathname;
    const title = host.dataset.title || document.title;
    const root = host.shadowRoot || host.attachShadow({ mode: "open" });
    const id = "csvc" + ++uid + "-";
    const state = { token: null, tokenAt: 0, minAge: 3, count: 0, closed: false, next: null };
    const nodes = new Map(); // comment id -> {c, li, article, depth, name, kids}
    const tag = pickLanguage(host);

    // The thread, the stylesheet and the words load side by side.
    state.sort = ["oldest", "newest", "top"].includes(store.get("sort")) ? store.get("sort")
      : "oldest";
    lang = tag;
    const first = api("GET", threadPath(), undefined, tokenHeaders()).catch((e) => e);
    const css = h("link", { rel: "stylesheet", href: BASE + "widget.css" });
    const styled = new Promise((done) => {
      css.addEventListener("load", done);
      css.addEventListener("error", done);
    });
    root.replaceChildren(css);
    let catalogue = null;
    if (tag !== "en") {
      try {
        const res = await fetch(BASE + "i18n/" + tag + ".json", { credentials: "omit" });
        if (res.ok) catalogue = await res.json();
      } catch { /* English, then */ }
    }
    useLanguage(catalogue ? tag : "en", catalogue);

    const heading = h("h2", { class: "csvc-count", id: id + "h", tabindex: "-1" }, t("comments"));
    const status = h("p", { class: "csvc-status", role: "status" });
    const live = h("p", { class: "csvc-live", role: "status" });
    const list = h("ol", { class: "csvc-list" });
    const more = h("button", { type: "button", class: "csvc-more", hidden: true, onclick: loadMore },
      t("more"));
    const formSlot = h("div", { class: "csvc-main-form" });
    const sorter = h("select", { id: id + "s", onchange: () => {
      state.sort = sorter.value;
      store.set("sort", state.sort);
      load();
    } }, ...["oldest", "newest", "top"].map((value) =>
      h("option", { value, selected: value === state.sort }, t(value))));
    const bar = h("div", { class: "csvc-bar" }, heading,
      h("label", { class: "csvc-sort", for: id + "s" }, t("sort"), " ", sorter));
    const box = h("section", { class: "csvc csvc-" + scheme(host), "aria-labelledby": id + "h",
      lang, dir: RTL.includes(lang) ? "rtl" : "ltr" }, bar, status, live, formSlot, list, more);
    // No inline styles anywhere (strict CSP): the stylesheet is a link, content waits for it.
    // The widget appears with its comments in one go (one layout and paint, not two), or
    // saying it is loading them when they take longer than a moment.
    await Promise.all([styled, Promise.race([first, new Promise((done) => setTimeout(done, 300))])]);
    root.append(box);

    // Announced to screen readers; shown next to what it is about when there is such a place.
    function say(text, near) {
      live.textContent = text;
      for (const old of box.querySelectorAll(".csvc-msg")) old.remove();
      if (near && text) near.append(h("p", { class: "csvc-msg" }, text));
    }

    // The heading counts what this reader sees: published comments and their own held ones.
    function setCount(n) {
      state.count = Math.max(0, n);
      let held = 0;
      for (const node of nodes.values()) if (node.c.status === "pending") held++;
      heading.replaceChildren(t("count", { n: state.count + held }),
        held ? h("span", { class: "csvc-count-held" }, " ", t("pendingCount", { n: held })) : "");
    }

    function tokenHeaders() {
      const tokens = ownTokens(uri);
      return tokens.length ? { "X-Edit-Tokens": tokens.map((o) => o.t).join(",") } : {};
    }

    function threadPath(after) {
      return "api/threads?uri=" + encodeURIComponent(uri) + "&sort=" + state.sort +
        (after ? "&after=" + encodeURIComponent(after) : "");
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

    function voteControl(node) {
      const { c } = node;
      const score = h("span", { class: "csvc-score", "aria-live": "polite", "data-n": c.score || 0 },
        num(c.score || 0));
      const mine = () => store.mine("vote:" + c.id) || 0;
      const button = (value, glyph, label) => h("button", { type: "button", class: "csvc-vote",
        "aria-label": label, "aria-pressed": String(mine() === value), onclick: async (ev) => {
          const next = mine() === value ? 0 : value;
          const pressed = ev.currentTarget; // gone from the event once it is awaited
          try {
            const data = await api("POST", "api/comments/" + c.id + "/vote",
              { value: next, voter: voter() });
            c.score = data.score;
            score.dataset.n = data.score;
            score.textContent = num(data.score);
            store.set("vote:" + c.id, next);
            for (const b of pressed.parentNode.querySelectorAll(".csvc-vote")) {
              b.setAttribute("aria-pressed", String(b === pressed && next !== 0));
            }
          } catch (e) {
            say(e.message, node.article);
          }
        } }, glyph);
      return h("span", { class: "csvc-votes" }, button(1, "▲", t("voteUp")), score,
        button(-1, "▼", t("voteDown")));
    }

    function takeThread(data) {
      if (Number.isFinite(data.min_submit_seconds)) state.minAge = data.min_submit_seconds;
      state.closed = !!data.closed;
      state.next = data.next || null;
      more.hidden = !state.next;
    }

    async function load(early) {
      box.setAttribute("aria-busy", "true");
      status.textContent = t("loading");
      const data = await (early || api("GET", threadPath(), undefined, tokenHeaders())
        .catch((e) => e));
      box.setAttribute("aria-busy", "false");
      if (data instanceof Error) {
        status.textContent = t("loadFailed") + " " + data.message;
        formSlot.replaceChildren(h("button", { type: "button", class: "csvc-button",
          onclick: () => load() }, t("retry")));
        return;
      }
      takeThread(data);
      performance.mark("commentsvc:data");
      status.textContent = "";
      // Built while detached, then attached once: one style and layout pass for the lot.
      const spot = list.nextSibling;
      list.remove();
      list.replaceChildren();
      nodes.clear();
      for (const c of data.comments) renderComment(c, 0, list, null);
      box.insertBefore(list, spot);
      setCount(data.count);
      performance.mark("commentsvc:rendered");
      localise(list, () => setCount(state.count));
      if (!formSlot.querySelector("form")) {
        formSlot.replaceChildren(state.closed ? h("p", { class: "csvc-closed" }, t("closed"))
          : commentForm(null));
      }
      const target = location.hash.match(/^#comment-(\d+)$/);
      const node = target && nodes.get(Number(target[1]));
      if (node) node.article.scrollIntoView();
    }

    async function loadMore() {
      more.disabled = true;
      say(t("loadingMore"));
      try {
        const data = await api("GET", threadPath(state.next), undefined, tokenHeaders());
        takeThread(data);
        const first = data.comments[0];
        for (const c of data.comments) renderComment(c, 0, list, null);
        setCount(state.count);
        say("");
        if (first && nodes.get(first.id)) nodes.get(first.id).article.focus();
      } catch (e) {
        say(e.message, more.parentNode);
      } finally {
        more.disabled = false;
      }
    }

    // The thread is a public page that caches may keep, so the form token (each works once)
    // is asked for apart, when the reader starts writing.
    function askToken() {
      if (!state.asking && (!state.token || Date.now() - state.tokenAt >= TOKEN_REFRESH)) {
        state.asking = api("GET", "api/form-token?uri=" + encodeURIComponent(uri)).then((data) => {
          state.token = data.form_token;
          state.tokenAt = Date.now();
          state.minAge = data.min_submit_seconds;
        }).finally(() => { state.asking = null; });
      }
      return state.asking || Promise.resolve();
    }
    box.addEventListener("focusin", (ev) => {
      if (ev.target.closest("form")) askToken().catch(() => {});
    });

    // Each form token works once, and not before it is minAge seconds old (sooner is a
    // bot's pace): take it for this post, waiting out the rest of that time if need be.
    async function freshToken() {
      await askToken();
      const token = state.token;
      const wait = state.tokenAt + state.minAge * 1000 + 250 - Date.now();
      state.token = null;
      if (wait > 0) await new Promise((done) => setTimeout(done, wait));
      return token;
    }

    /* ---- comments ---- */

    function childSlot(node) {
      if (node.depth < MAX_DEPTH - 1) {
        if (!node.kids) node.li.append(node.kids = h("ol", { class: "csvc-replies" }));
        return [node.kids, node.depth + 1, null];
      }
      return [node.li.parentNode, node.depth, node.name];
    }

    function renderComment(c, depth, container, inReplyTo) {
      const deleted = c.status === "deleted";
      const name = deleted ? t("deletedName") : c.author || t("anonymous");
      const article = h("article", { class: "csvc-comment", id: "comment-" + c.id, tabindex: "-1" });
      const li = h("li", { class: "csvc-item" }, article);
      container.append(li);
      const node = { c, li, article, depth, name, kids: null };
      nodes.set(c.id, node);
      fillComment(node, inReplyTo);
      for (const reply of c.replies || []) {
        const [slot, d, marker] = childSlot(node);
        renderComment(reply, d, slot, marker);
      }
      return node;
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

    function fillComment(node, inReplyTo) {
      const { c, article } = node;
      if (inReplyTo !== undefined) node.inReplyTo = inReplyTo;
      const deleted = c.status === "deleted";
      article.classList.toggle("csvc-is-pending", c.status === "pending");
      article.classList.toggle("csvc-is-deleted", deleted);
      if (deleted) {
        article.replaceChildren(h("p", { class: "csvc-body csvc-deleted" }, t("deleted")));
        return;
      }
      const body = h("div", { class: "csvc-body", dir: "auto" });
      body.innerHTML = c.html; // sanitised by the server's renderer; the only HTML we insert
      const actions = h("div", { class: "csvc-actions" },
        c.status === "approved" && voteControl(node));
      if (!state.closed) {
        actions.append(h("button", { type: "button", class: "csvc-link", onclick: () => openReply(node),
          "aria-label": t("replyTo", { name: c.author || t("anonymous") }) }, t("reply")));
      }
      const own = store.mine("token:" + c.id);
      const left = own ? own.u - Date.now() : 0;
      // A token still shows its holder a held comment; for a published one it is spent.
      if (own && left <= 0 && c.status !== "pending") store.del("token:" + c.id);
      if (left > 0) {
        const edit = h("button", { type: "button", class: "csvc-link", onclick: () => openEdit(node, own) },
          t("edit"));
        const del = h("button", { type: "button", class: "csvc-link", onclick: () => askDelete(node, own) },
          t("delete"));
        actions.append(edit, del);
        clearTimeout(node.timer);
        node.timer = setTimeout(() => { edit.remove(); del.remove(); }, left);
      }
      article.replaceChildren(authorLine(node), body, actions);
    }

    function openReply(node) {
      const open = box.querySelector(".csvc-reply-form");
      if (open) open.remove();
      const form = commentForm(node);
      node.article.after(form);
      form.querySelector("textarea").focus();
    }

    function hasReplies(node) {
      for (const other of nodes.values()) {
        if (other.c.parent_id === node.c.id && other.c.status !== "deleted") return true;
      }
      return false;
    }

    function commentPosted(c, parent) {
      c.replies = [];
      let node;
      if (parent) {
        const [slot, d, marker] = childSlot(parent);
        node = renderComment(c, d, slot, marker);
      } else {
        node = renderComment(c, 0, list, null);
      }
      setCount(state.count + (c.status === "approved"));
      say(c.status === "approved" ? t("published") : t("held"), node.article);
      node.article.focus();
    }

    /* ---- edit and delete of one's own comment ---- */

    // The server's clock says the window has closed: no more Edit or Delete. The token is
    // kept, so a held comment stays visible to its author.
    function expired(node, own, e) {
      if (e.code !== "token_expired") return false;
      own.u = Math.min(own.u, Date.now());
      store.set("token:" + node.c.id, own);
      return true;
    }

    // The author line stays; the text becomes a box with Save, Preview and Cancel.
    function openEdit(node, own) {
      const { c, article } = node;
      const fid = id + "e" + c.id;
      const text = h("textarea", { id: fid, name: "text", rows: "4", maxlength: "10000" });
      text.value = own.text || article.querySelector(".csvc-body").textContent;
      const note = h("p", { class: "csvc-status", role: "status" });
      const cancel = () => { fillComment(node); article.focus(); };
      const label = h("label", { for: fid, class: "csvc-sr" }, t("editLabel"));
      const form = h("form", { class: "csvc-form csvc-edit-form", novalidate: true }, label, text);
      const preview = previewer(text, note);
      form.append(h("div", { class: "csvc-foot" },
        h("div", { class: "csvc-buttons" }, preview.button,
          h("button", { type: "button", class: "csvc-button csvc-secondary", onclick: cancel }, t("cancel")),
          h("button", { type: "submit", class: "csvc-button" }, t("save")))),
      note);
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        note.textContent = t("saving");
        try {
          const updated = await api("PATCH", "api/comments/" + c.id, { text: text.value },
            { Authorization: "Bearer " + own.t });
          own.text = text.value;
          store.set("token:" + c.id, own);
          node.c = { ...c, ...updated, replies: c.replies };
          fillComment(node);
          const held = updated.status === "pending" && c.status === "approved";
          setCount(state.count - held);
          say(held ? t("changeHeld") : t("changed"), article);
          article.focus();
        } catch (e) {
          preview.off();
          note.textContent = expired(node, own, e) ? t("editPassed") : e.message;
        }
      });
      form.addEventListener("keydown", (ev) => { if (ev.key === "Escape") cancel(); });
      article.replaceChildren(authorLine(node), form);
      text.focus();
    }

    function askDelete(node, own) {
      const actions = node.article.querySelector(".csvc-actions");
      const keep = () => { fillComment(node); node.article.focus(); };
      const confirm = h("div", { class: "csvc-confirm", role: "group", "aria-label": t("confirmDelete") },
        h("span", null, t("confirmDelete")),
        h("button", { type: "button", class: "csvc-button csvc-danger", onclick: () => doDelete(node, own) },
          t("yesDelete")),
        h("button", { type: "button", class: "csvc-button csvc-secondary", onclick: keep }, t("keep")));
      actions.replaceChildren(confirm);
      confirm.querySelector("button").focus();
    }

    async function doDelete(node, own) {
      const { c } = node;
      try {
        await api("DELETE", "api/comments/" + c.id, undefined, { Authorization: "Bearer " + own.t });
      } catch (e) {
        if (expired(node, own, e)) {
          fillComment(node);
          say(t("deletePassed"), node.article);
        } else say(e.message, node.article);
        node.article.focus();
        return;
      }
      store.del("token:" + c.id);
      const approved = c.status === "approved";
      let place;
      if (hasReplies(node)) {
        node.c = { ...c, status: "deleted", author: null, website: null, html: "" };
        fillComment(node);
        place = node.article;
      } else {
        // The message takes the comment's place in the thread.
        place = h("li", { class: "csvc-item" });
        node.li.replaceWith(place);
        nodes.delete(c.id);
      }
      setCount(state.count - approved);
      say(t("wasDeleted"), place);
      heading.focus();
    }

    /* ---- the comment form (top level and inline replies) ---- */

    function commentForm(parent) {
      const fid = id + "f" + ++uid + "-";
      const fields = readerFields(fid, parent ? "3" : "4");
      const [text, ...who] = fields;
      const textarea = text.control;
      const notify = h("input", { id: fid + "notify", name: "notify", type: "checkbox" });
      const hp = h("input", { id: fid + "hp", name: "hp", type: "text", tabindex: "-1", autocomplete: "off" });
      const submitBtn = h("button", { type: "submit", class: "csvc-button" },
        parent ? t("postReply") : t("postComment"));
      const note = h("p", { class: "csvc-status", role: "status" });
      const preview = previewer(textarea, note);
      const form = h("form", { class: "csvc-form" + (parent ? " csvc-reply-form" : ""), novalidate: true,
        "aria-labelledby": fid + "title" },
      h(parent ? "p" : "h3", { class: parent ? "csvc-replying" : "csvc-form-title", id: fid + "title" },
        parent ? t("replyTo", { name: parent.name }) : t("write")),
      text.wrap,
      h("div", { class: "csvc-who" }, ...who.map((f) => f.wrap)),
      h("div", { class: "csvc-check" }, notify,
        h("label", { for: fid + "notify" }, t("notify")), " ", who[1].hint),
      h("div", { class: "csvc-hp", "aria-hidden": "true" },
        h("label", { for: fid + "hp" }, t("honeypot")), hp),
      h("div", { class: "csvc-foot" }, text.hint,
        h("div", { class: "csvc-buttons" }, preview.button,
          parent && h("button", { type: "button", class: "csvc-button csvc-secondary", onclick: cancel },
            t("cancel")),
          submitBtn)),
      note);
      let busy = false;

      function cancel() {
        form.remove();
        parent.article.focus();
      }
      if (parent) form.addEventListener("keydown", (ev) => { if (ev.key === "Escape") cancel(); });

      function markErrors(errors) {
        const invalid = showFieldErrors(fields, errors);
        if (invalid) {
          if (invalid === textarea) preview.off();
          invalid.focus();
        }
      }

      async function submit(ev) {
        ev.preventDefault();
        if (busy) return;
        const v = Object.fromEntries(fields.map((f) => [f.name, f.control.value]));
        if (!v.text.trim()) {
          markErrors({ text: [t("writeFirst")] });
          note.textContent = t("writeFirst");
          return;
        }
        markErrors({});
        store.set("profile", { author: v.author, email: v.email, website: v.website });
        busy = true;
        submitBtn.setAttribute("aria-disabled", "true");
        note.textContent = t("posting");
        let token = null;
        try {
          token = await freshToken();
          const c = await api("POST", "api/comments", {
            uri, title, parent_id: parent ? parent.c.id : null,
            author: v.author, email: v.email, website: v.website, text: v.text,
            notify: notify.checked, form_token: token, hp: hp.value,
          });
          store.set("token:" + c.id, { t: c.edit_token, u: Date.parse(c.edit_until), uri, text: v.text });
          // A form token works once; the answer brings the next one.
          state.token = c.form_token || null;
          state.tokenAt = Date.now();
          if (parent) form.remove();
          else {
            textarea.value = "";
            note.textContent = "";
            preview.off();
          }
          commentPosted(c, parent);
        } catch (e) {
          // A refused post did not use its token (a lost answer may have): keep it for the retry.
          if (token && !state.token && e.code !== "network") state.token = token;
          markErrors(e.fields);
          // Problems with fields that are not on the form (uri, parent) go into the message.
          const other = Object.entries(e.fields).filter(([k]) => !fields.some((f) => f.name === k));
          note.textContent = [e.message, ...other.map(([, m]) => m.join(" ")),
            e.code === "network" ? t("textKept") : ""].join(" ").trim();
          if (e.code === "closed") state.closed = true;
        } finally {
          busy = false;
          submitBtn.removeAttribute("aria-disabled");
        }
      }

      form.addEventListener("submit", submit);
      return form;
    }

    await load(first);
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
