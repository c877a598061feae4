/* commentsvc comment widget. Embed with:
 *   <div id="comments" data-uri="/path/of/post.html"></div>
 *   <script src="https://comments.example.com/embed.js" async></script>
 * Talks only to the origin it was loaded from, sets no cookies, and renders into an open
 * shadow root on #comments. Comment HTML comes sanitised from the server; every other
 * string goes in through textContent.
 */
(() => {
  "use strict";

  const script = document.currentScript || document.querySelector('script[src$="/embed.js"]');
  if (!script) return;
  const BASE = new URL(".", script.src).href; // the service, with a trailing slash
  const PREFIX = "commentsvc:" + BASE + ":"; // localStorage keys: service origin + what
  const MAX_DEPTH = 4; // nesting levels shown; deeper replies attach at the last level
  const KEEP_OWN = 30 * 86400e3; // own held comments stay visible to their author this long
  const TOKEN_REFRESH = 3600e3; // fetch a fresh form token when the page was open this long
  let uid = 0;

  /* ---- small helpers ---- */

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === "class") el.className = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : v);
    }
    el.append(...children.filter((c) => c != null && c !== false));
    return el;
  }

  const store = {
    get(key) {
      try { return JSON.parse(localStorage.getItem(PREFIX + key)); } catch { return null; }
    },
    set(key, value) {
      try { localStorage.setItem(PREFIX + key, JSON.stringify(value)); } catch { /* private mode */ }
    },
    del(key) {
      try { localStorage.removeItem(PREFIX + key); } catch { /* private mode */ }
    },
    tokenKeys() {
      const keys = [];
      try {
        for (let i = 0; i < localStorage.length; i++) {
          const key = localStorage.key(i);
          if (key.startsWith(PREFIX + "token:")) keys.push(key.slice(PREFIX.length));
        }
      } catch { /* storage disabled */ }
      return keys;
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

  function countLabel(n) {
    return n === 0 ? "No comments" : n === 1 ? "1 comment" : n + " comments";
  }

  function seconds(n) {
    if (n < 60) return n === 1 ? "1 second" : n + " seconds";
    const m = Math.ceil(n / 60);
    return m === 1 ? "1 minute" : m + " minutes";
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
    const network = new ApiError(0, "network",
      "Could not reach the comment server. Check your connection and try again.");
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
    return new ApiError(0, "origin",
      "This site is not allowed to load comments from its comment server. The site's owner " +
      `can allow it by adding ${location.origin} to COMMENTSVC_ALLOWED_ORIGINS.`);
  }

  // The one way the widget talks to the service: every failure becomes a readable message.
  async function api(method, path, body, headers) {
    const init = { method, headers: { ...headers }, credentials: "omit", mode: "cors" };
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
    let message = err.message || `The comment server could not answer (error ${res.status}).`;
    if (res.status >= 500) {
      message = `The comment server ran into a problem (error ${res.status}). ` +
        "Please try again in a little while.";
    }
    if (res.status === 429) {
      const raw = res.headers.get("Retry-After");
      let wait = Number(raw);
      if (raw && isNaN(wait)) wait = (Date.parse(raw) - Date.now()) / 1000;
      message = "You are posting too quickly. Please try again " +
        (wait > 0 ? "in " + seconds(Math.ceil(wait)) + "." : "in a little while.");
    }
    throw new ApiError(res.status, err.code || "http", message, err.fields);
  }

  const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
  // One formatter for every comment: toLocaleString() with options builds a new one per call.
  const exactTime = new Intl.DateTimeFormat("en", { dateStyle: "full", timeStyle: "short" });
  const UNITS = [["year", 31536e3], ["month", 2592e3], ["week", 604800], ["day", 86400],
    ["hour", 3600], ["minute", 60]];

  function timeElement(iso) {
    const date = new Date(iso);
    const diff = (date - Date.now()) / 1000;
    let text = "just now";
    for (const [unit, size] of UNITS) {
      if (Math.abs(diff) >= size) {
        text = relative.format(Math.round(diff / size), unit);
        break;
      }
    }
    const exact = exactTime.format(date);
    return h("time", { datetime: iso, title: exact }, text);
  }

  /* ---- form fields ---- */

  function field(name, label, control, hint) {
    const fid = control.id;
    const err = h("p", { class: "csvc-error", id: fid + "-err", hidden: true });
    const hintEl = hint && h("p", { class: "csvc-hint", id: fid + "-hint" }, hint);
    if (hint) control.setAttribute("aria-describedby", fid + "-hint");
    return { name, control, err, hint: hintEl,
      wrap: h("div", { class: "csvc-field csvc-field-" + name },
        h("label", { for: fid }, label), control, hintEl, err) };
  }

  // Name, e-mail and website come back from the reader's last comment (this browser only).
  function readerFields(fid) {
    const profile = store.get("profile") || {};
    const input = (name, type, auto, max) => {
      const el = h("input", { id: fid + name, name, type, autocomplete: auto, maxlength: max });
      el.value = profile[name] || "";
      return el;
    };
    return [
      field("author", "Name (optional)", input("author", "text", "name", "80")),
      field("email", "E-mail (optional)", input("email", "email", "email", "254"),
        "Never shown publicly. Needed only for reply notifications."),
      field("website", "Website (optional)", input("website", "url", "url", "500")),
      field("text", "Comment", h("textarea", { id: fid + "text", name: "text", rows: "5",
        maxlength: "10000", required: true }),
      "Markdown works: *italic*, **bold**, [a link](https://example.com), `code`."),
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

  /* ---- the widget ---- */

  function mount(host) {
    const uri = host.dataset.uri || location.pathname;
    const title = host.dataset.title || document.title;
    const root = host.shadowRoot || host.attachShadow({ mode: "open" });
    const id = "csvc" + ++uid + "-";
    const state = { token: null, tokenAt: 0, minAge: 3, count: 0, closed: false, next: null };
    const nodes = new Map(); // comment id -> {c, li, article, depth, name, kids}

    const heading = h("h2", { class: "csvc-count", id: id + "h", tabindex: "-1" }, "Comments");
    const status = h("p", { class: "csvc-status", role: "status" });
    const list = h("ol", { class: "csvc-list" });
    const more = h("button", { type: "button", class: "csvc-more", hidden: true, onclick: loadMore },
      "Load more comments");
    const formSlot = h("div", { class: "csvc-main-form" });
    const SORTS = { oldest: "Oldest first", newest: "Newest first", top: "Best first" };
    state.sort = SORTS[store.get("sort")] ? store.get("sort") : "oldest";
    const sorter = h("select", { id: id + "s", onchange: () => {
      state.sort = sorter.value;
      store.set("sort", state.sort);
      load();
    } }, ...Object.entries(SORTS).map(([value, label]) =>
      h("option", { value, selected: value === state.sort }, label)));
    const bar = h("div", { class: "csvc-bar" }, heading,
      h("label", { class: "csvc-sort", for: id + "s" }, "Sort ", sorter));
    const box = h("section", { class: "csvc", "aria-labelledby": id + "h", hidden: true },
      bar, status, list, more, formSlot);
    // No inline styles anywhere (strict CSP): the stylesheet is a link, content waits for it.
    const css = h("link", { rel: "stylesheet", href: BASE + "widget.css" });
    const show = () => { box.hidden = false; };
    css.addEventListener("load", show);
    css.addEventListener("error", show);
    root.replaceChildren(css, box);

    function say(text) { status.textContent = text; }

    function setCount(n) {
      state.count = Math.max(0, n);
      heading.textContent = countLabel(state.count);
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
      const score = h("span", { class: "csvc-score", "aria-live": "polite" }, String(c.score || 0));
      const mine = () => store.get("vote:" + c.id) || 0;
      const button = (value, glyph, label) => h("button", { type: "button", class: "csvc-vote",
        "aria-label": label, "aria-pressed": String(mine() === value), onclick: async (ev) => {
          const next = mine() === value ? 0 : value;
          const pressed = ev.currentTarget; // gone from the event once it is awaited
          try {
            const data = await api("POST", "api/comments/" + c.id + "/vote",
              { value: next, voter: voter() });
            c.score = data.score;
            score.textContent = String(data.score);
            store.set("vote:" + c.id, next);
            for (const b of pressed.parentNode.querySelectorAll(".csvc-vote")) {
              b.setAttribute("aria-pressed", String(b === pressed && next !== 0));
            }
          } catch (e) {
            say(e.message);
          }
        } }, glyph);
      return h("span", { class: "csvc-votes" }, button(1, "▲", "Vote up"), score,
        button(-1, "▼", "Vote down"));
    }

    function takeThread(data) {
      state.token = data.form_token;
      state.tokenAt = Date.now();
      if (Number.isFinite(data.min_submit_seconds)) state.minAge = data.min_submit_seconds;
      state.closed = !!data.closed;
      state.next = data.next || null;
      more.hidden = !state.next;
    }

    async function load() {
      say("Loading comments…");
      let data;
      try {
        data = await api("GET", threadPath(), undefined, tokenHeaders());
      } catch (e) {
        say("Comments could not be loaded. " + e.message);
        formSlot.replaceChildren(h("button", { type: "button", class: "csvc-button", onclick: load },
          "Try again"));
        box.hidden = false;
        return;
      }
      takeThread(data);
      setCount(data.count);
      say("");
      // Built while detached, then attached once: one style and layout pass for the lot.
      const spot = list.nextSibling;
      list.remove();
      list.replaceChildren();
      nodes.clear();
      for (const c of data.comments) renderComment(c, 0, list, null);
      box.insertBefore(list, spot);
      formSlot.replaceChildren(state.closed
        ? h("p", { class: "csvc-closed" }, "Comments are closed.")
        : commentForm(null));
      const target = location.hash.match(/^#comment-(\d+)$/);
      const node = target && nodes.get(Number(target[1]));
      if (node) node.article.scrollIntoView();
    }

    async function loadMore() {
      more.disabled = true;
      say("Loading more comments…");
      try {
        const data = await api("GET", threadPath(state.next), undefined, tokenHeaders());
        takeThread(data);
        const first = data.comments[0];
        for (const c of data.comments) renderComment(c, 0, list, null);
        say("");
        if (first && nodes.get(first.id)) nodes.get(first.id).article.focus();
      } catch (e) {
        say(e.message);
      } finally {
        more.disabled = false;
      }
    }

    // Each form token works once, and not before it is minAge seconds old (sooner is a
    // bot's pace): take it for this post, waiting out the rest of that time if need be.
    async function freshToken() {
      if (!state.token || Date.now() - state.tokenAt >= TOKEN_REFRESH) {
        const data = await api("GET", threadPath() + "&limit=1");
        state.token = data.form_token;
        state.tokenAt = Date.now();
      }
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
      const name = deleted ? "a deleted comment" : c.author || "Anonymous";
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

    function fillComment(node, inReplyTo) {
      const { c, article } = node;
      if (inReplyTo !== undefined) node.inReplyTo = inReplyTo;
      const deleted = c.status === "deleted";
      article.classList.toggle("csvc-is-pending", c.status === "pending");
      article.classList.toggle("csvc-is-deleted", deleted);
      if (deleted) {
        article.replaceChildren(h("p", { class: "csvc-body csvc-deleted" }, "This comment was deleted."));
        return;
      }
      const author = c.author || "Anonymous";
      const site = c.website && /^https?:\/\//i.test(c.website) ? c.website : null;
      const meta = h("header", { class: "csvc-meta" },
        /^[0-9a-f]{16}$/.test(c.avatar || "") &&
          h("img", { class: "csvc-avatar", src: BASE + "avatars/" + c.avatar + ".svg", alt: "",
            width: "40", height: "40", loading: "lazy" }),
        site ? h("a", { class: "csvc-author", href: site, rel: "nofollow ugc noopener" }, author)
          : h("span", { class: "csvc-author" }, author),
        c.moderator && h("span", { class: "csvc-badge" }, "moderator"),
        node.inReplyTo && h("span", { class: "csvc-in-reply" }, "in reply to " + node.inReplyTo),
        h("a", { class: "csvc-permalink", href: "#comment-" + c.id }, timeElement(c.created)),
        c.edited && h("span", { class: "csvc-edited" }, "(edited)"),
        c.status === "pending" && h("span", { class: "csvc-pending-note" }, "awaiting moderation"));
      const body = h("div", { class: "csvc-body" });
      body.innerHTML = c.html; // sanitised by the server's renderer; the only HTML we insert
      const actions = h("div", { class: "csvc-actions" },
        c.status === "approved" && voteControl(node));
      if (!state.closed) {
        actions.append(h("button", { type: "button", class: "csvc-link", onclick: () => openReply(node),
          "aria-label": "Reply to " + author }, "Reply"));
      }
      const own = store.get("token:" + c.id);
      const left = own ? own.u - Date.now() : 0;
      // A token still shows its holder a held comment; for a published one it is spent.
      if (own && left <= 0 && c.status !== "pending") store.del("token:" + c.id);
      if (left > 0) {
        const edit = h("button", { type: "button", class: "csvc-link", onclick: () => openEdit(node, own) },
          "Edit");
        const del = h("button", { type: "button", class: "csvc-link", onclick: () => askDelete(node, own) },
          "Delete");
        actions.append(edit, del);
        clearTimeout(node.timer);
        node.timer = setTimeout(() => { edit.remove(); del.remove(); }, left);
      }
      article.replaceChildren(meta, body, actions);
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
      if (c.status === "approved") setCount(state.count + 1);
      say(c.status === "approved" ? "Your comment is published."
        : "Thank you. Your comment is awaiting moderation; only you can see it for now.");
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

    function openEdit(node, own) {
      const { c, article } = node;
      const fid = id + "e" + c.id;
      const text = h("textarea", { id: fid, name: "text", rows: "5", maxlength: "10000" });
      text.value = own.text || article.querySelector(".csvc-body").textContent;
      const note = h("p", { class: "csvc-status", role: "status" });
      const cancel = () => { fillComment(node); article.focus(); };
      const form = h("form", { class: "csvc-form csvc-edit-form", novalidate: true },
        h("label", { for: fid }, "Edit your comment"), text,
        h("div", { class: "csvc-buttons" },
          h("button", { type: "submit", class: "csvc-button" }, "Save"),
          h("button", { type: "button", class: "csvc-button csvc-secondary", onclick: cancel }, "Cancel")),
        note);
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        note.textContent = "Saving…";
        try {
          const updated = await api("PATCH", "api/comments/" + c.id, { text: text.value },
            { Authorization: "Bearer " + own.t });
          own.text = text.value;
          store.set("token:" + c.id, own);
          node.c = { ...c, ...updated, replies: c.replies };
          fillComment(node);
          if (updated.status === "pending" && c.status === "approved") {
            setCount(state.count - 1);
            say("Your change is awaiting moderation; only you can see it for now.");
          } else say("Your comment was changed.");
          article.focus();
        } catch (e) {
          note.textContent = expired(node, own, e) ? "The time to edit this comment has passed."
            : e.message;
        }
      });
      form.addEventListener("keydown", (ev) => { if (ev.key === "Escape") cancel(); });
      article.replaceChildren(form);
      text.focus();
    }

    function askDelete(node, own) {
      const actions = node.article.querySelector(".csvc-actions");
      const keep = () => { fillComment(node); node.article.focus(); };
      const confirm = h("div", { class: "csvc-confirm", role: "group", "aria-label": "Delete this comment?" },
        h("span", null, "Delete this comment?"),
        h("button", { type: "button", class: "csvc-button csvc-danger", onclick: () => doDelete(node, own) },
          "Yes, delete"),
        h("button", { type: "button", class: "csvc-button csvc-secondary", onclick: keep }, "Keep it"));
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
          say("The time to delete this comment has passed.");
        } else say(e.message);
        node.article.focus();
        return;
      }
      store.del("token:" + c.id);
      if (c.status === "approved") setCount(state.count - 1);
      if (hasReplies(node)) {
        node.c = { ...c, status: "deleted", author: null, website: null, html: "" };
        fillComment(node);
      } else {
        node.li.remove();
        nodes.delete(c.id);
      }
      say("Your comment was deleted.");
      heading.focus();
    }

    /* ---- the comment form (top level and inline replies) ---- */

    function commentForm(parent) {
      const fid = id + "f" + ++uid + "-";
      const fields = readerFields(fid);
      const text = fields.find((f) => f.name === "text");
      const textarea = text.control;
      const notify = h("input", { id: fid + "notify", name: "notify", type: "checkbox" });
      const hp = h("input", { id: fid + "hp", name: "hp", type: "text", tabindex: "-1", autocomplete: "off" });
      const preview = h("div", { class: "csvc-preview csvc-body", hidden: true, tabindex: "-1" });
      const previewBtn = h("button", { type: "button", class: "csvc-button csvc-secondary",
        "aria-pressed": "false", onclick: togglePreview }, "Preview");
      const submitBtn = h("button", { type: "submit", class: "csvc-button" },
        parent ? "Post reply" : "Post comment");
      const note = h("p", { class: "csvc-status", role: "status" });
      text.wrap.insertBefore(preview, text.hint);
      const form = h("form", { class: "csvc-form" + (parent ? " csvc-reply-form" : ""), novalidate: true,
        "aria-labelledby": fid + "title" },
      h(parent ? "p" : "h3", { class: parent ? "csvc-replying" : "csvc-form-title", id: fid + "title" },
        parent ? "Reply to " + parent.name : "Write a comment"),
      ...fields.map((f) => f.wrap),
      h("div", { class: "csvc-field csvc-check" }, notify,
        h("label", { for: fid + "notify" }, "E-mail me when someone replies")),
      h("div", { class: "csvc-hp", "aria-hidden": "true" },
        h("label", { for: fid + "hp" }, "Leave this field empty"), hp),
      h("div", { class: "csvc-buttons" }, submitBtn, previewBtn,
        parent && h("button", { type: "button", class: "csvc-button csvc-secondary", onclick: cancel },
          "Cancel")),
      note);
      let busy = false;

      function cancel() {
        form.remove();
        parent.article.focus();
      }
      if (parent) form.addEventListener("keydown", (ev) => { if (ev.key === "Escape") cancel(); });

      function setPreview(on) {
        previewBtn.setAttribute("aria-pressed", String(on));
        preview.hidden = !on;
        textarea.hidden = on;
      }

      async function togglePreview() {
        if (previewBtn.getAttribute("aria-pressed") === "true") {
          setPreview(false);
          textarea.focus();
          return;
        }
        if (!textarea.value.trim()) {
          note.textContent = "Nothing to preview yet.";
          return;
        }
        note.textContent = "Rendering preview…";
        try {
          const data = await api("POST", "api/preview", { text: textarea.value });
          preview.innerHTML = data.html; // sanitised by the same renderer as saved comments
          setPreview(true);
          note.textContent = "Showing the preview. Press Preview again to go on writing.";
        } catch (e) {
          note.textContent = e.message;
        }
      }

      function markErrors(errors) {
        const invalid = showFieldErrors(fields, errors);
        if (invalid) {
          if (invalid === textarea) setPreview(false);
          invalid.focus();
        }
      }

      async function submit(ev) {
        ev.preventDefault();
        if (busy) return;
        const v = Object.fromEntries(fields.map((f) => [f.name, f.control.value]));
        if (!v.text.trim()) {
          markErrors({ text: ["Please write a comment first."] });
          note.textContent = "Please write a comment first.";
          return;
        }
        markErrors({});
        store.set("profile", { author: v.author, email: v.email, website: v.website });
        busy = true;
        submitBtn.setAttribute("aria-disabled", "true");
        note.textContent = "Posting…";
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
            setPreview(false);
          }
          commentPosted(c, parent);
        } catch (e) {
          // A refused post did not use its token (a lost answer may have): keep it for the retry.
          if (token && !state.token && e.code !== "network") state.token = token;
          markErrors(e.fields);
          // Problems with fields that are not on the form (uri, parent) go into the message.
          const other = Object.entries(e.fields).filter(([k]) => !fields.some((f) => f.name === k));
          note.textContent = [e.message, ...other.map(([, m]) => m.join(" "))].join(" ") +
            (e.code === "network" ? " Your text is still here." : "");
          if (e.code === "closed") state.closed = true;
        } finally {
          busy = false;
          submitBtn.removeAttribute("aria-disabled");
        }
      }

      form.addEventListener("submit", submit);
      return form;
    }

    load();
  }

  function start() {
    const host = document.getElementById("comments");
    if (host) mount(host);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
