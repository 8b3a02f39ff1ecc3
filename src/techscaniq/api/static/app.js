// TechScanIQ dashboard core: state, the API client, sign-in, views and routes, live updates over the WebSocket.
// The views live in sites.js, site_page.js, alerting.js, inbox.js, portfolio.js and people.js (plain scripts,
// no build).
// Everything from the API is inserted with textContent (never as HTML): scanned sites are untrusted.
"use strict";

// A pasted API key or token lives in memory only; a signed-in person's session is an HttpOnly cookie.
const state = { token: null, csrf: null, org: null, sites: new Map(), socket: null,
  current: null, retry: 1000, live: new Map(), generation: 0, turns: {} };
const $ = (id) => document.getElementById(id);

// A view renders again on every live event: an older call whose answers come back last must not paint over a
// newer one (the inbox showed the list from before the alert that had just made it reload).
function newestOnly(view) {
  const turn = (state.turns[view] = (state.turns[view] || 0) + 1);
  return () => state.turns[view] === turn;
}

function el(tag, options = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(options)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function ago(iso) {
  if (!iso) return "never";
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

function toast(text) {
  const node = el("div", { class: "toast", text });
  $("toasts").appendChild(node);
  setTimeout(() => node.remove(), 3500);
}

// ---- API ---------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(message, status) { super(message); this.status = status; }
}

// What proves who is asking: a pasted key's token, or (the session cookie goes by itself) the CSRF header on writes.
function credentialHeaders(method = "GET") {
  if (state.token) return { Authorization: `Bearer ${state.token}` };
  return state.csrf && method !== "GET" ? { "X-CSRF-Token": state.csrf } : {};
}

async function api(path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}), ...credentialHeaders(options.method) };
  if (options.json !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method: options.method || "GET", headers, credentials: "same-origin",
    body: options.json !== undefined ? JSON.stringify(options.json) : undefined });
  if (response.status === 401 && (state.token || state.csrf)) { signOut("Your session has ended — please sign in again."); }
  if (options.onResponse) options.onResponse(response);  // for headers such as X-Next-Cursor
  if (response.status === 204) return null;
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = Array.isArray(body.detail)
      ? body.detail.map((d) => `${d.field || "request"}: ${d.message}`).join("; ") : body.detail || response.statusText;
    throw new ApiError(detail, response.status);
  }
  return body;
}

// ---- sign-in -----------------------------------------------------------------------------------

const looksLikeJwt = (value) => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(value);

async function signIn(event) {
  event.preventDefault();
  const credential = $("credential").value.trim();
  $("signin-error").textContent = "";
  if (!credential) { $("signin-error").textContent = "Enter an API key or a token."; return; }
  try {
    if (looksLikeJwt(credential)) {
      state.token = credential;
    } else {
      state.token = null;
      state.token = (await api("/api/v1/auth/token", { method: "POST", json: { api_key: credential } })).access_token;
    }
    await api("/api/v1/auth/me");
    $("credential").value = "";
    await start();
  } catch (error) {
    state.token = null;
    $("signin-error").textContent = `Sign-in failed: ${error.message}`;
  }
}

function signOut(message) {
  if (state.csrf) {  // a signed-in person: end the session on the server, then back to the sign-in page
    const csrf = state.csrf;
    state.csrf = null;
    fetch("/api/v1/session", { method: "DELETE", headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" })
      .catch(() => {}).finally(() => location.replace("/static/login.html"));
  }
  state.token = null;
  if (state.socket) { state.socket.onclose = null; state.socket.close(); state.socket = null; }
  show("signin-view");
  $("session").hidden = true;
  if (message) $("signin-error").textContent = message;
}

// A signed-in person's session (its cookie is HttpOnly: only the API can tell whether there is one).
async function resumeSession() {
  // Before the first owner exists (the setup link is in the start banner), API keys and tokens are the way in.
  const setup = await fetch("/api/v1/setup").then((r) => r.json()).catch(() => ({ needed: true }));
  if (setup.needed) { show("signin-view"); return; }
  const response = await fetch("/api/v1/session", { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (response.ok) { state.session = await response.json(); state.csrf = state.session.csrf_token; await start(); return; }
  if (location.hash === "#api-key") { show("signin-view"); return; }
  location.replace("/static/login.html");
}

// ---- views -------------------------------------------------------------------------------------

const VIEWS = ["signin-view", "sites-view", "site-view", "inbox-view", "alerting-view", "scan-view", "portfolio-view", "access-view"];

function show(view) {
  for (const id of VIEWS) $(id).hidden = id !== view;
  $("nav").hidden = view === "signin-view";
  for (const link of $("nav").querySelectorAll("a")) {
    if (link.dataset.view === view) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
}

async function start() {
  const me = await api("/api/v1/auth/me");
  state.org = me;
  $("org-name").textContent = me.organization_id + (me.can_write ? "" : " (read only)");
  renderOrganizationSwitch();
  $("session").hidden = false;
  applyRole();
  connect();
  await route();
}

// A viewer sees every form with its fields disabled (not only the buttons): nothing invites an edit.
function applyRole(root = document) {
  const readOnly = !(state.org && state.org.can_write);
  document.body.classList.toggle("read-only", readOnly);
  for (const node of root.querySelectorAll(".writes input, .writes select, .writes textarea, .writes button, [data-write], .writes-control")) {
    node.disabled = readOnly;
  }
  for (const node of root.querySelectorAll(".writes-label")) node.hidden = readOnly;
}

const ROUTES = [
  [/^#\/site\/([\w-]+)$/, (id) => openSite(id)],
  [/^#\/scan\/([\w-]+)$/, (id) => openScan(id)],
  [/^#\/inbox$/, () => openInbox()],
  [/^#\/alerting$/, () => openAlerting()],
  [/^#\/portfolio$/, () => openPortfolio()],
  [/^#\/access$/, () => openAccess()],
];

async function route() {
  if (!state.token && !state.csrf) { show("signin-view"); return; }
  state.current = null;
  for (const [pattern, open] of ROUTES) {
    const match = location.hash.match(pattern);
    if (match) { await open(match[1]); return; }
  }
  await loadSites();
}

// The backend decides (domain/availability.py): a 503, a 404 or a timeout is down, never "up".
function availabilityOf(site) {
  if (site.paused) return { state: "paused", reason: "paused" };
  const scan = site.last_scan;
  if (!scan) return { state: "unknown", reason: "waiting for first scan" };
  return scan.availability || site.availability || { state: "unknown", reason: "unknown" };
}

const STATE_PILL = { up: "ok", down: "bad", paused: "idle", unknown: "warn" };

function statusPill(site) {
  const { state: status, reason } = availabilityOf(site);
  const text = status === "paused" || status === "unknown" ? reason : `${status} · ${reason}`;
  return el("span", { class: `pill ${STATE_PILL[status] || "warn"}`, "data-state": status, text });
}

// A site's grade: its newest scan's; when that scan failed (down: nothing answered to grade), the newest grade
// it had (the overview's `last_grade`), marked as earlier — never "no grade" while a site is down.
function shownGrade(site) {
  const scan = site.last_scan;
  if (scan && scan.security) return { grade: scan.security.grade, score: scan.security.score, from: null };
  return site.last_grade ? { ...site.last_grade, from: site.last_grade.started_at } : null;
}

function siteGradeBadge(site) {
  const shown = shownGrade(site);
  if (!shown) return gradeBadge(null);
  const label = `security grade ${shown.grade}, score ${shown.score}` + (shown.from ? `, from the last graded scan (${ago(shown.from)})` : "");
  return el("div", { class: `grade g-${shown.grade[0]}${shown.from ? " earlier" : ""}`, text: shown.grade, "aria-label": label,
    title: label, role: "img" });
}

function gradeBadge(scan, big = false) {
  const grade = scan && scan.security ? scan.security.grade : "–";
  const label = scan && scan.security ? `security grade ${grade}, score ${scan.security.score}` : "no security grade yet";
  return el("div", { class: `grade g-${grade[0]}${big ? " big" : ""}`, text: grade, "aria-label": label, role: "img" });
}

// A date and time with its time zone named, e.g. "3 Dec 2026, 10:15 (Europe/Paris)".
function when(iso, zone) {
  const options = { dateStyle: "medium", timeStyle: "short" };
  if (zone) options.timeZone = zone;
  return `${new Date(iso).toLocaleString(undefined, options)} (${zone || Intl.DateTimeFormat().resolvedOptions().timeZone})`;
}

// A change or an alert in words: the backend's `summary` sentence when it has one.
function changeText(change) {
  if (change.summary) return change.summary;
  return `${change.type} · ${change.subject} ${change.change_type}` +
    (change.before !== null || change.after !== null ? ` (${fmt(change.before)} → ${fmt(change.after)})` : "");
}
const alertText = (alert) => alert.summary || alert.title;

const fmt = (value) => (value === null || value === undefined ? "—" : typeof value === "object" ? JSON.stringify(value).slice(0, 60) : String(value).slice(0, 60));
const impactClass = (impact) => (impact === "low" ? "idle" : impact === "medium" ? "warn" : "bad");
const splitList = (text) => text.split(",").map((item) => item.trim()).filter(Boolean);
const siteName = (id) => (state.sites.get(id) || { name: id }).name;

// Asks before something that cannot be undone; resolves true when the person confirmed.
function confirmAction(title, text, confirmLabel) {
  const dialog = $("confirm-dialog");
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = confirmLabel;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true }));
}

// One button that calls the API, stays disabled while it runs and says what went wrong.
function actionButton(label, run, options = {}) {
  const button = el("button", { type: "button", class: options.cls || "ghost small", text: label, "data-write": "" });
  if (options.label) button.setAttribute("aria-label", options.label);
  button.disabled = !(state.org && state.org.can_write);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try { await run(); } catch (error) { toast(error.message); } finally { button.disabled = !state.org.can_write; }
  });
  return button;
}

// ---- live updates ------------------------------------------------------------------------------

function setLive(on, text) {
  $("live").classList.toggle("on", on);
  $("live-text").textContent = text;
}

function connect() {
  if (state.socket || (!state.token && !state.csrf)) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  // A token goes in the subprotocol offer, never in the URL (URLs end up in logs and histories); a session
  // needs nothing: the browser sends its cookie with the handshake.
  const protocols = state.token ? ["techscaniq.v1", `bearer.${state.token}`] : ["techscaniq.v1"];
  const socket = new WebSocket(`${scheme}://${location.host}/ws`, protocols);
  state.socket = socket;
  socket.onopen = () => { state.retry = 1000; setLive(true, "live"); };
  socket.onmessage = (message) => handleEvent(JSON.parse(message.data));
  socket.onclose = (event) => {
    state.socket = null;
    if (event.code === 4401) { signOut("Your session has ended — please sign in again."); return; }
    setLive(false, "reconnecting…");
    setTimeout(connect, state.retry);
    state.retry = Math.min(state.retry * 2, 30000);
  };
}

function handleEvent(message) {
  if (message.type === "scan.completed") {
    const scan = message.data.scan;
    state.live.set(message.config_id, scan);
    const site = state.sites.get(message.config_id);
    if (!site) {
      refreshSites().catch(() => {});  // a site added elsewhere (another tab, the API)
    } else {
      site.last_scan = scan;
      if (!$("sites-view").hidden) {
        renderSites();
        const card = document.querySelector(`[data-config-id="${CSS.escape(message.config_id)}"]`);
        if (card) card.classList.add("flash");
      }
    }
    if (state.current === message.config_id) openSite(state.current);
  } else if (message.type === "change.detected" || message.type.startsWith("alert.")) {
    if (message.type === "alert.triggered") toast(`Alert: ${alertText(message.data.alert)}`);
    if (state.current === message.config_id) openSite(state.current);
    if (!$("inbox-view").hidden) openInbox();
  }
}


// ---- wiring ------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", () => signOut());
  wireSites();
  wireSitePage();
  wireAlerting();
  wireInbox();
  wirePortfolio();
  wireAccess();
  window.addEventListener("hashchange", () => route().catch((error) => toast(error.message)));
  resumeSession().catch(() => signOut());
});
