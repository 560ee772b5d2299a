// Forewarn in-app inbox: a bell with a count and a dropdown, for your own pages.
// No dependencies, no build step. Served by Forewarn at /inbox/forewarn-inbox.js.
//
//   import { mount } from "https://status.example.com/inbox/forewarn-inbox.js";
//   const bell = mount(document.querySelector("#bell"), { user, hash });  // or { token }
//   bell.unmount();  // on sign-out
//
// Options: baseUrl (default: where this file came from), user + hash (the hex HMAC-SHA256
// of the user id) or token (a user JWT, or a function returning one or a promise of one),
// locale ("en" | "ja"; default the page's), badge ("unread" | "unseen"), pageSize.
// Message text is only ever set with textContent: a body is text, never markup.

const LABELS = {
  en: {
    bell: (n) => (n ? `Notifications, ${n} unread` : "Notifications"),
    title: "Notifications",
    readAll: "Mark all as read",
    more: "Load more",
    empty: "No notifications yet.",
    open: "View",
    archive: (t) => `Archive: ${t}`,
    unread: "Unread",
    manage: "Manage alerts",
    thanks: "Thank you for your answer.",
    score: (s) => `Score ${s}`,
    failed: "Could not reach the notification service.",
  },
  ja: {
    bell: (n) => (n ? `お知らせ（未読 ${n} 件）` : "お知らせ"),
    title: "お知らせ",
    readAll: "すべて既読にする",
    more: "さらに表示",
    empty: "お知らせはまだありません。",
    open: "詳細",
    archive: (t) => `アーカイブ: ${t}`,
    unread: "未読",
    manage: "通知の設定",
    thanks: "ご回答ありがとうございました。",
    score: (s) => `${s} 点`,
    failed: "通知サービスに接続できませんでした。",
  },
};

const CSS = `
:host { all: initial; display: inline-block; position: relative; font: 14px/1.4 system-ui, sans-serif;
  --fw-accent: #1a56db; --fw-bg: #fff; --fw-fg: #1f2328; --fw-muted: #59636e; --fw-line: #d1d9e0; }
@media (prefers-color-scheme: dark) { :host { --fw-bg: #1f2328; --fw-fg: #f0f3f6; --fw-muted: #9198a1; --fw-line: #3d444d; --fw-accent: #6ea8fe; } }
button { font: inherit; color: inherit; cursor: pointer; }
:focus-visible { outline: 2px solid var(--fw-accent); outline-offset: 2px; }
.bell { position: relative; background: none; border: 0; padding: 6px; border-radius: 50%; color: var(--fw-fg); line-height: 0; }
.bell svg { width: 24px; height: 24px; }
.badge { position: absolute; top: 0; right: 0; min-width: 18px; height: 18px; padding: 0 4px; box-sizing: border-box;
  border-radius: 9px; background: #d1242f; color: #fff; font-size: 11px; font-weight: 700; line-height: 18px; text-align: center; }
.panel { position: absolute; right: 0; top: calc(100% + 4px); z-index: 1000; width: min(22rem, calc(100vw - 16px));
  max-height: min(30rem, 80vh); overflow: auto; background: var(--fw-bg); color: var(--fw-fg);
  border: 1px solid var(--fw-line); border-radius: 8px; box-shadow: 0 8px 24px rgb(0 0 0 / .18); }
.head, .foot { display: flex; justify-content: space-between; align-items: center; gap: 8px; padding: 8px 12px; }
.head { border-bottom: 1px solid var(--fw-line); font-weight: 700; }
.link { background: none; border: 0; padding: 2px; color: var(--fw-accent); font-weight: 400; }
a { color: var(--fw-accent); }
ul { list-style: none; margin: 0; padding: 0; }
li { display: flex; gap: 4px; align-items: flex-start; padding: 8px 8px 8px 12px; border-bottom: 1px solid var(--fw-line); }
li.unread { background: color-mix(in srgb, var(--fw-accent) 8%, transparent); }
.box { flex: 1; min-width: 0; }
.item { display: block; width: 100%; text-align: left; background: none; border: 0; padding: 0; min-width: 0; }
.item strong { display: block; overflow-wrap: anywhere; }
li.unread .item strong::before { content: ""; display: inline-block; width: 8px; height: 8px; margin-right: 6px; border-radius: 50%; background: var(--fw-accent); }
.body { display: block; overflow-wrap: anywhere; white-space: pre-line; }
.muted, time { color: var(--fw-muted); font-size: 12px; }
.archive { background: none; border: 0; padding: 2px 6px; color: var(--fw-muted); font-size: 16px; line-height: 1; }
.rating { display: flex; flex-wrap: wrap; gap: 4px; margin-top: 6px; }
.rating button { min-width: 28px; padding: 2px 6px; border: 1px solid var(--fw-line); border-radius: 4px; background: var(--fw-bg); }
.empty, .error { padding: 16px 12px; margin: 0; color: var(--fw-muted); }
.more { display: block; width: 100%; padding: 8px; background: none; border: 0; color: var(--fw-accent); }
[hidden] { display: none !important; }
`;

let sheet = null;
let serial = 0;

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.filter(Boolean));
  return node;
}

function bellIcon() {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("fill", "currentColor");
  path.setAttribute("d", "M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z");
  svg.append(path);
  return svg;
}

function pickLocale(asked) {
  const lang = (asked || document.documentElement.lang || navigator.language || "en").toLowerCase();
  return lang.startsWith("ja") ? "ja" : "en";
}

/**
 * Render the bell into `element` and keep it live; returns { unmount(), refresh() }.
 * Throws TypeError without a user and hash, or a token.
 */
export function mount(element, options = {}) {
  const { user = "", hash = "", token = null, badge = "unread", pageSize = 20 } = options;
  if (!token && !(user && hash)) throw new TypeError("ForewarnInbox.mount needs {user, hash} or {token}");
  const base = String(options.baseUrl || new URL(".", import.meta.url).href.replace(/\/inbox\/$/, "")).replace(/\/+$/, "");
  const locale = pickLocale(options.locale);
  const t = LABELS[locale];
  const when = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" });
  const id = `fw-inbox-${++serial}`;

  let counts = { unread: 0, unseen: 0, total: 0 };
  let messages = []; // newest first
  const known = new Set(); // ids held: a replayed or repeated event is not shown twice
  let horizon = 0; // the newest message id the counts are known to include
  let cursor = null;
  let loaded = false;
  let manageUrl = null;
  let source = null;
  let retry = 1000;
  let retryTimer = 0;
  let opened = false; // the stream has opened once: a later open is a reconnect
  let gone = false;

  // --- the DOM, in a shadow root: the host page's CSS does not reach in, nor ours out
  const host = el("span", { class: "forewarn-inbox" });
  const root = host.attachShadow({ mode: "open" });
  if (!sheet && "adoptedStyleSheets" in Document.prototype) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
  }
  if (sheet) root.adoptedStyleSheets = [sheet];
  else root.append(el("style", { text: CSS }));
  const count = el("span", { class: "badge", "aria-hidden": "true", hidden: true });
  const bell = el("button", { type: "button", class: "bell", "aria-expanded": "false", "aria-controls": id, onclick: () => toggle() }, bellIcon(), count);
  const list = el("ul");
  const empty = el("p", { class: "empty", text: t.empty, hidden: true });
  const error = el("p", { class: "error", role: "alert", hidden: true });
  const more = el("button", { type: "button", class: "more", text: t.more, hidden: true, onclick: () => load(false) });
  const readAll = el("button", { type: "button", class: "link", text: t.readAll, onclick: () => markAll() });
  const manage = el("a", { target: "_blank", rel: "noopener", text: t.manage });
  const foot = el("div", { class: "foot", hidden: true }, manage);
  const panel = el("div", { id, class: "panel", role: "region", "aria-label": t.title, hidden: true },
    el("div", { class: "head" }, el("span", { text: t.title }), readAll), error, empty, list, more, foot);
  root.append(bell, panel);
  element.append(host);

  // --- talking to Forewarn
  async function credential() {
    return typeof token === "function" ? await token() : token;
  }

  async function call(method, path, body) {
    const headers = {};
    const jwt = await credential();
    if (jwt) headers.Authorization = `Bearer ${jwt}`;
    else Object.assign(headers, { "X-Forewarn-User": user, "X-Forewarn-User-Hash": hash });
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(`${base}/api/v1/inbox${path}`, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "omit",
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status}`);
    return response.json();
  }

  function failed(err) {
    if (gone) return;
    error.textContent = t.failed;
    error.hidden = false;
    console.warn("forewarn-inbox:", err);
  }

  async function act(promise) {
    try {
      const answer = await promise;
      error.hidden = true;
      if (answer.counts) setCounts(answer.counts);
      return answer;
    } catch (err) {
      failed(err);
      return null;
    }
  }

  // --- state to screen
  function setCounts(next) {
    counts = { unread: next.unread, unseen: next.unseen, total: next.total };
    const n = counts[badge] ?? counts.unread;
    count.textContent = n > 99 ? "99+" : String(n);
    count.hidden = n === 0;
    bell.setAttribute("aria-label", t.bell(counts.unread));
    readAll.disabled = counts.unread === 0;
  }

  function put(message) {
    const at = messages.findIndex((m) => m.id === message.id);
    if (at >= 0) messages[at] = message;
    else {
      known.add(message.id);
      messages.push(message);
      messages.sort((a, b) => b.id - a.id);
    }
  }

  function render() {
    list.replaceChildren(...messages.map(item));
    empty.hidden = !loaded || messages.length > 0;
    more.hidden = !cursor;
    foot.hidden = !manageUrl;
    if (manageUrl) manage.href = manageUrl;
  }

  function item(message) {
    const unread = !message.read_at;
    const created = new Date(message.created_at);
    const link = message.url
      ? el("a", { href: new URL(message.url, base + "/").href, target: "_blank", rel: "noopener", text: t.open, onclick: () => mark(message, "read") })
      : null;
    const meta = el("span", { class: "muted" }, el("time", { datetime: message.created_at, text: when.format(created) }));
    if (link) meta.append(" · ", link);
    const main = el("button", { type: "button", class: "item", onclick: () => unread && mark(message, "read") },
      el("strong", { text: message.title }), el("span", { class: "body", text: message.body }));
    if (unread) main.append(el("span", { class: "muted", text: ` (${t.unread})` }));
    const box = el("div", { class: "box" }, main, meta, rating(message));
    const archive = el("button", { type: "button", class: "archive", "aria-label": t.archive(message.title), title: t.archive(message.title), text: "×", onclick: () => archiveOne(message) });
    return el("li", { class: unread ? "unread" : "", "data-id": message.id }, box, archive);
  }

  function rating(message) {
    const prompt = message.rating;
    if (!prompt) return null;
    if (prompt.score !== null || (prompt.expires_at && new Date(prompt.expires_at) < new Date())) {
      return prompt.score !== null ? el("span", { class: "muted", text: t.thanks }) : null;
    }
    const row = el("div", { class: "rating", role: "group", "aria-label": prompt.question });
    for (let s = prompt.min_score; s <= prompt.max_score; s++) {
      const label = prompt.labels[String(s)];
      row.append(el("button", { type: "button", "aria-label": label ? `${s}: ${label}` : t.score(s), title: label || null, text: String(s), onclick: () => rate(message, s) }));
    }
    return el("div", {}, el("span", { class: "body", text: prompt.question }), row);
  }

  // --- what the user does
  async function load(first) {
    const query = new URLSearchParams({ limit: String(pageSize) });
    if (!first && cursor) query.set("cursor", cursor);
    const page = await act(call("GET", `?${query}`));
    if (!page) return;
    if (first) messages = [];
    page.data.forEach(put);
    if (first && page.data.length) horizon = Math.max(horizon, page.data[0].id);
    cursor = page.next_cursor;
    manageUrl = page.manage_url;
    loaded = true;
    render();
  }

  async function mark(message, action) {
    const answer = await act(call("POST", `/${message.id}/${action}`));
    if (answer) {
      put(answer.data);
      render();
    }
  }

  async function archiveOne(message) {
    const answer = await act(call("POST", `/${message.id}/archive`));
    if (!answer) return;
    messages = messages.filter((m) => m.id !== message.id);
    render();
    bell.focus(); // the button that had focus is gone
  }

  async function rate(message, score) {
    const answer = await act(call("POST", `/${message.id}/rating`, { score }));
    if (answer) {
      put(answer.data);
      render();
    }
  }

  async function markAll() {
    const answer = await act(call("POST", "/read-all"));
    if (!answer) return;
    const now = new Date().toISOString();
    messages = messages.map((m) => (m.read_at ? m : { ...m, read_at: now, seen_at: m.seen_at || now }));
    render();
  }

  async function open() {
    panel.hidden = false;
    bell.setAttribute("aria-expanded", "true");
    await load(true);
    if (counts.unseen > 0 && !panel.hidden) await act(call("POST", "/seen-all"));
  }

  function close(refocus) {
    if (panel.hidden) return;
    panel.hidden = true;
    bell.setAttribute("aria-expanded", "false");
    if (refocus) bell.focus();
  }

  function toggle() {
    if (panel.hidden) open();
    else close(false);
  }

  function onKey(event) {
    if (event.key === "Escape" && !panel.hidden) {
      event.stopPropagation();
      close(true);
    }
  }

  function onOutside(event) {
    if (!event.composedPath().includes(host)) close(false);
  }

  // --- the live stream
  function onMessage(event) {
    const message = JSON.parse(event.data);
    if (known.has(message.id)) return; // replayed after a reconnect: already here
    known.add(message.id);
    if (message.id > horizon) {
      horizon = message.id;
      setCounts({ unread: counts.unread + 1, unseen: counts.unseen + 1, total: counts.total + 1 });
    }
    if (loaded) {
      put({ seen_at: null, read_at: null, archived_at: null, rating: null, ...message });
      render();
    }
  }

  async function fetchCounts() {
    // With the newest message's id: a replayed message at or below it is in these counts.
    const page = await act(call("GET", "?status=all&limit=1"));
    if (page && page.data.length) horizon = Math.max(horizon, page.data[0].id);
  }

  async function resync() {
    // After a gap: the counts as they are now, and the open list afresh.
    await fetchCounts();
    if (!panel.hidden) await load(true);
    else loaded = false;
  }

  async function connect() {
    if (gone) return;
    const query = new URLSearchParams();
    const jwt = await credential().catch(() => null);
    if (jwt) query.set("token", jwt);
    else query.set("user", user), query.set("hash", hash);
    if (gone) return;
    source = new EventSource(`${base}/inbox/stream?${query}`);
    source.addEventListener("open", () => {
      retry = 1000;
      if (opened) resync(); // a reconnect: what changed meanwhile
      opened = true;
    });
    source.addEventListener("message", onMessage);
    source.addEventListener("counts", (event) => setCounts(JSON.parse(event.data)));
    source.addEventListener("resync", () => resync());
    source.addEventListener("error", () => {
      // EventSource retries by itself, unless the server refused (401: an expired token).
      if (source.readyState !== EventSource.CLOSED) return;
      source = null;
      retryTimer = setTimeout(connect, retry);
      retry = Math.min(retry * 2, 60000);
    });
  }

  root.addEventListener("keydown", onKey);
  document.addEventListener("pointerdown", onOutside);
  setCounts(counts);
  fetchCounts();
  connect();

  return {
    /** Fetch the counts (and the open list) again. */
    refresh: resync,
    /** Close the stream, drop the listeners and remove the bell. */
    unmount() {
      gone = true;
      clearTimeout(retryTimer);
      if (source) source.close();
      document.removeEventListener("pointerdown", onOutside);
      host.remove();
    },
  };
}

export const ForewarnInbox = { mount };
