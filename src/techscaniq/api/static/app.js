// TechScanIQ dashboard: sign-in, the list of sites, one site's page, live updates over the WebSocket.
// Everything from the API is inserted with textContent (never as HTML): scanned sites are untrusted.
"use strict";

// A pasted API key or token lives in memory only; a signed-in person's session is an HttpOnly cookie.
const state = { token: null, csrf: null, org: null, sites: new Map(), socket: null,
  current: null, retry: 1000, live: new Map(), generation: 0 };
const $ = (id) => document.getElementById(id);

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

class ApiError extends Error {}

async function api(path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  else if (state.csrf && (options.method || "GET") !== "GET") headers["X-CSRF-Token"] = state.csrf;
  if (options.json !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method: options.method || "GET", headers, credentials: "same-origin",
    body: options.json !== undefined ? JSON.stringify(options.json) : undefined });
  if (response.status === 401 && (state.token || state.csrf)) { signOut("Your session has ended — please sign in again."); }
  if (response.status === 204) return null;
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = Array.isArray(body.detail)
      ? body.detail.map((d) => `${d.field || "request"}: ${d.message}`).join("; ") : body.detail || response.statusText;
    throw new ApiError(detail);
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
  if (response.ok) { state.csrf = (await response.json()).csrf_token; await start(); return; }
  if (location.hash === "#api-key") { show("signin-view"); return; }
  location.replace("/static/login.html");
}

// ---- views -------------------------------------------------------------------------------------

function show(view) {
  for (const id of ["signin-view", "sites-view", "site-view"]) $(id).hidden = id !== view;
}

async function start() {
  const me = await api("/api/v1/auth/me");
  state.org = me;
  $("org-name").textContent = me.organization_id + (me.can_write ? "" : " (read only)");
  $("session").hidden = false;
  $("add-form").querySelector("button").disabled = !me.can_write;
  connect();
  await route();
}

async function route() {
  if (!state.token && !state.csrf) { show("signin-view"); return; }
  const match = location.hash.match(/^#\/site\/([\w-]+)$/);
  if (match) { await openSite(match[1]); } else { state.current = null; await loadSites(); }
}

async function loadSites() {
  show("sites-view");
  await refreshSites();
}

async function refreshSites() {
  const generation = ++state.generation;
  const sites = await api("/api/v1/overview");
  if (generation !== state.generation) return;  // a newer refresh started meanwhile
  for (const site of sites) {
    // A scan announced over the WebSocket may be newer than what this (slower) request saw.
    const announced = state.live.get(site.id);
    if (announced && (!site.last_scan || announced.started_at > site.last_scan.started_at)) site.last_scan = announced;
  }
  state.sites = new Map(sites.map((s) => [s.id, s]));
  if (!$("sites-view").hidden) renderSites();
}

function statusPill(site) {
  if (site.paused) return el("span", { class: "pill idle", text: "paused" });
  const scan = site.last_scan;
  if (!scan) return el("span", { class: "pill warn", text: "waiting for first scan" });
  return scan.status === "success"
    ? el("span", { class: "pill ok", text: `up · HTTP ${scan.status_code}` })
    : el("span", { class: "pill bad", text: `failed · ${scan.error ? scan.error.code : "error"}` });
}

function gradeBadge(scan, big = false) {
  const grade = scan && scan.security ? scan.security.grade : "–";
  const label = scan && scan.security ? `security grade ${grade}, score ${scan.security.score}` : "no security grade yet";
  return el("div", { class: `grade g-${grade[0]}${big ? " big" : ""}`, text: grade, "aria-label": label, role: "img" });
}

function siteCard(site) {
  const scan = site.last_scan;
  const chips = el("div", { class: "chips" });
  for (const tech of (scan ? scan.technologies : []).slice(0, 8)) {
    chips.appendChild(el("span", { class: "chip", text: tech.version ? `${tech.name} ${tech.version}` : tech.name }));
  }
  if (scan && scan.technologies.length > 8) chips.appendChild(el("span", { class: "chip", text: `+${scan.technologies.length - 8}` }));
  const meta = el("div", { class: "meta" }, statusPill(site));
  if (scan) {
    meta.append(el("span", { text: `scanned ${ago(scan.started_at)}` }));
    if (scan.metrics && scan.metrics.ttfb_ms !== undefined) meta.append(el("span", { text: `TTFB ${TechCharts.formatValue(scan.metrics.ttfb_ms)} ms` }));
  }
  return el("a", { class: "site-card", href: `#/site/${site.id}`, "data-config-id": site.id },
    gradeBadge(scan), el("h3", { text: site.name }), el("div", { class: "url", text: site.url }), meta, chips);
}

function renderSites() {
  const list = $("site-list");
  list.replaceChildren();
  const sites = [...state.sites.values()];
  if (sites.length === 0) list.appendChild(el("p", { class: "empty", text: "No sites yet — add one to start monitoring." }));
  for (const site of sites) list.appendChild(siteCard(site));
  const failing = sites.filter((s) => s.last_scan && s.last_scan.status !== "success").length;
  $("sites-summary").textContent = `${sites.length} site${sites.length === 1 ? "" : "s"}` + (failing ? ` · ${failing} failing` : " · all up");
}

async function addSite(event) {
  event.preventDefault();
  const form = event.target, button = form.querySelector("button");
  $("add-error").textContent = "";
  const body = { name: $("add-name").value.trim(), url: $("add-url").value.trim(),
    schedule: { type: "interval", expression: $("add-interval").value, timezone: "UTC" },
    scan_config: { technologies: true, performance: true, security: true } };
  button.disabled = true;
  try {
    const created = await api("/api/v1/configs", { method: "POST", json: body });
    // From storage, not from the form: the first scan may already have finished (and been announced).
    await refreshSites();
    form.reset();
    toast(`${created.name} added — its first scan is running.`);
  } catch (error) {
    $("add-error").textContent = error.message;
  } finally {
    button.disabled = !state.org.can_write;
  }
}

// ---- one site ----------------------------------------------------------------------------------

async function openSite(id) {
  show("site-view");
  state.current = id;
  const [config, scans, stack, metrics, changes, alerts] = await Promise.all([
    api(`/api/v1/configs/${id}`), api(`/api/v1/scans?config_id=${id}&limit=1`),
    api(`/api/v1/configs/${id}/technologies`), api(`/api/v1/configs/${id}/metrics?name=ttfb_ms&name=load_time_ms`),
    api(`/api/v1/changes?config_id=${id}&limit=50`), api(`/api/v1/alerts?config_id=${id}&limit=50`)]);
  if (state.current !== id) return;
  const scan = scans[0];
  $("site-title").textContent = config.name;
  $("site-url").textContent = config.url;
  $("site-url").href = /^https?:\/\//.test(config.url) ? config.url : "#";
  $("site-grade").replaceWith(Object.assign(gradeBadge(scan && { security: scan.security }, true), { id: "site-grade" }));
  $("site-status").textContent = scan
    ? `${scan.status === "success" ? "Up" : `Failed: ${scan.error ? scan.error.message : "error"}`} · last scan ${ago(scan.started_at)}` +
      (config.paused ? " · paused" : config.next_run_at ? ` · next ${new Date(config.next_run_at).toLocaleTimeString()}` : "")
    : "Waiting for the first scan…";
  $("toggle-pause").textContent = config.paused ? "Resume" : "Pause";
  $("toggle-pause").dataset.paused = String(config.paused);
  for (const button of [$("scan-now"), $("toggle-pause")]) button.disabled = !state.org.can_write;

  TechCharts.lineChart($("perf-chart"), [
    { label: "Time to first byte", cls: "ttfb", unit: "ms", points: metrics.series.ttfb_ms || [] },
    { label: "Load time", cls: "load", unit: "ms", points: metrics.series.load_time_ms || [] },
  ], { label: "Time to first byte and load time, in milliseconds, over time" });
  renderTimeline(stack);
  renderFindings(scan);
  renderChanges(changes);
  renderAlerts(alerts);
}

function renderTimeline(stack) {
  const box = $("tech-timeline");
  box.replaceChildren();
  if (!stack.history.length) { box.appendChild(el("p", { class: "muted", text: "No technologies detected yet." })); return; }
  const times = stack.history.flatMap((t) => [Date.parse(t.first_seen), Date.parse(t.last_seen)]);
  const start = Math.min(...times), end = Math.max(...times), span = Math.max(end - start, 1);
  const grid = el("div", { class: "timeline", role: "list" });
  for (const tech of stack.history) {
    const versions = tech.versions.map((v) => v.version).filter(Boolean);
    const name = el("div", { class: "name", role: "listitem" }, tech.name, " ",
      el("small", { text: versions.length ? versions.join(" → ") : "" }));
    const left = ((Date.parse(tech.first_seen) - start) / span) * 100;
    const width = ((Date.parse(tech.last_seen) - Date.parse(tech.first_seen)) / span) * 100;
    const bar = el("div", { class: `bar${tech.present ? "" : " gone"}`,
      title: `${tech.name}: first seen ${new Date(tech.first_seen).toLocaleString()}, last seen ${new Date(tech.last_seen).toLocaleString()}${tech.present ? " (present)" : " (gone)"}` });
    bar.style.left = `${Math.min(left, 99)}%`;
    bar.style.width = `${Math.max(width, 1)}%`;
    grid.append(name, el("div", { class: "track" }, bar));
  }
  box.appendChild(grid);
}

function renderFindings(scan) {
  const list = $("findings");
  list.replaceChildren();
  const findings = scan && scan.security ? scan.security.findings.filter((f) => !f.passed) : [];
  if (!scan || !scan.security) { list.appendChild(el("li", { class: "muted", text: "No security report yet." })); return; }
  if (!findings.length) list.appendChild(el("li", {}, el("span", { class: "pill ok", text: "pass" }), el("span", { class: "grow", text: "Every graded test passed." })));
  for (const finding of findings.slice(0, 20)) {
    const severity = finding.severity || (finding.modifier <= -20 ? "high" : "medium");
    list.appendChild(el("li", {}, el("span", { class: `pill ${severity === "low" ? "warn" : "bad"}`, text: severity }),
      el("span", { class: "grow", text: `${finding.test}: ${finding.description || finding.result}` })));
  }
}

function renderChanges(changes) {
  const list = $("changes");
  list.replaceChildren();
  if (!changes.length) { list.appendChild(el("li", { class: "muted", text: "No changes detected." })); return; }
  for (const change of changes) {
    const text = `${change.type} · ${change.subject} ${change.change_type}` +
      (change.before !== null || change.after !== null ? ` (${fmt(change.before)} → ${fmt(change.after)})` : "");
    list.appendChild(el("li", {}, el("span", { class: `pill ${impactClass(change.impact)}`, text: change.impact }),
      el("span", { class: "grow", text: text + (change.false_positive ? " — marked false positive" : "") }),
      el("time", { datetime: change.detected_at, text: ago(change.detected_at) })));
  }
}

function renderAlerts(alerts) {
  const list = $("alerts");
  list.replaceChildren();
  if (!alerts.length) { list.appendChild(el("li", { class: "muted", text: "No alerts." })); return; }
  for (const alert of alerts) {
    const item = el("li", {}, el("span", { class: `pill ${alert.status === "resolved" ? "ok" : impactClass(alert.severity)}`, text: alert.status }),
      el("span", { class: "grow", text: alert.title }), el("time", { datetime: alert.triggered_at, text: ago(alert.triggered_at) }));
    if (state.org.can_write && alert.status !== "resolved") {
      for (const action of alert.status === "triggered" ? ["acknowledge", "resolve"] : ["resolve"]) {
        const button = el("button", { type: "button", class: "ghost small", text: action });
        button.addEventListener("click", async () => {
          button.disabled = true;
          try { await api(`/api/v1/alerts/${alert.id}/${action}`, { method: "POST" }); await openSite(state.current); }
          catch (error) { toast(error.message); button.disabled = false; }
        });
        item.appendChild(button);
      }
    }
    list.appendChild(item);
  }
}

const fmt = (value) => (value === null || value === undefined ? "—" : typeof value === "object" ? JSON.stringify(value).slice(0, 60) : String(value).slice(0, 60));
const impactClass = (impact) => (impact === "low" ? "idle" : impact === "medium" ? "warn" : "bad");

async function siteAction(path, message) {
  try { await api(`/api/v1/configs/${state.current}/${path}`, { method: "POST" }); toast(message); await openSite(state.current); }
  catch (error) { toast(error.message); }
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
    if (message.type === "alert.triggered") toast(`Alert: ${message.data.alert.title}`);
    if (state.current === message.config_id) openSite(state.current);
  }
}

// ---- wiring ------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", signIn);
  $("add-form").addEventListener("submit", addSite);
  $("sign-out").addEventListener("click", () => signOut());
  $("scan-now").addEventListener("click", () => siteAction("scan", "Scan queued."));
  $("toggle-pause").addEventListener("click", () =>
    siteAction($("toggle-pause").dataset.paused === "true" ? "resume" : "pause", "Schedule updated."));
  window.addEventListener("hashchange", () => route().catch((error) => toast(error.message)));
  resumeSession().catch(() => signOut());
});
