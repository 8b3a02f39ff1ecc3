// One site's page: status, uptime and heartbeat, grade history, performance chart with gaps, technology
// timeline, findings, alerts, changes, its alert rules (alerting.js) and the actions edit/clone/pause/delete.
"use strict";

async function openSite(id) {
  const newest = newestOnly("site");
  show("site-view");
  const form = $("site-form");
  if (state.current !== id && form.dataset.configId !== id && form.dataset.sourceId !== id) homeSiteForm();
  state.current = id;
  const [config, scans, summaries, stack, metrics, changes, alerts, uptime] = await Promise.all([
    api(`/api/v1/configs/${id}`), api(`/api/v1/scans?config_id=${id}&limit=1`),
    api(`/api/v1/scans?config_id=${id}&limit=30&summary=true`),
    api(`/api/v1/configs/${id}/technologies`), api(`/api/v1/configs/${id}/metrics?name=ttfb_ms&name=load_time_ms`),
    api(`/api/v1/changes?config_id=${id}&limit=50`), api(`/api/v1/alerts?config_id=${id}&limit=50`),
    api(`/api/v1/configs/${id}/uptime`)]);
  if (state.current !== id || !newest()) return;
  state.config = config;
  const scan = scans[0];
  $("site-title").textContent = config.name;
  $("site-url").textContent = config.url;
  $("site-url").href = /^https?:\/\//.test(config.url) ? config.url : "#";
  $("site-grade").replaceWith(Object.assign(gradeBadge(summaries.find((s) => s.security) || null, true), { id: "site-grade" }));
  const summary = summaries[0] || null;  // carries the backend's availability verdict
  $("site-status").replaceChildren(statusPill({ paused: config.paused, last_scan: summary }),
    scan ? ` last scan ${ago(scan.started_at)}` + (scan.error ? ` (${scan.error.message})` : "") : "",
    config.paused ? " · not scheduled" : config.next_run_at ? ` · next run ${when(config.next_run_at, config.schedule.timezone)}` : "");
  $("site-tags").replaceChildren(...(config.tags || []).map((tag) => el("span", { class: "chip tag", text: `#${tag}` })));
  $("toggle-pause").textContent = config.paused ? "Resume" : "Pause";
  $("toggle-pause").dataset.paused = String(config.paused);

  renderUptime(uptime);
  renderGrades(summaries);
  renderTlsGrade(scan);
  const down = uptime.heartbeat.filter((mark) => mark.state === "down").map((mark) => Date.parse(mark.started_at));
  TechCharts.lineChart($("perf-chart"), [
    { label: "Time to first byte", cls: "ttfb", unit: "ms", points: metrics.series.ttfb_ms || [] },
    { label: "Load time", cls: "load", unit: "ms", points: metrics.series.load_time_ms || [] },
  ], { label: "Time to first byte and load time, in milliseconds, over time", unit: "ms", down });
  renderTimeline(stack);
  renderFindings(scan);
  renderChanges(changes);
  renderAlerts(alerts);
  renderRules(config);
  applyRole($("site-view"));
}

function renderUptime(uptime) {
  const stats = $("uptime");
  stats.replaceChildren();
  for (const [label, window] of Object.entries(uptime.windows)) {
    const value = window.percent === null ? "no scans" : `${window.percent}%`;
    stats.append(el("div", { class: "stat" }, el("dt", { text: label }),
      el("dd", { text: value, title: `${window.up} of ${window.scans} scans up${window.complete ? "" : " (only the newest scans were read)"}` })));
  }
  const bar = $("heartbeat");
  bar.replaceChildren(...uptime.heartbeat.map((mark) => el("span", { class: `beat ${mark.state}`,
    title: `${new Date(mark.started_at).toLocaleString()}: ${mark.state} · ${mark.reason}` })));
  const downs = uptime.heartbeat.filter((mark) => mark.state === "down").length;
  bar.setAttribute("aria-label", `last ${uptime.heartbeat.length} scans: ${uptime.heartbeat.length - downs} up, ${downs} down`);
}

function renderGrades(summaries) {
  const graded = summaries.filter((s) => s.security).reverse();  // oldest first
  const latest = graded.at(-1);
  $("grade-now").textContent = latest ? `${latest.security.grade} — score ${latest.security.score}/100, ` +
    `${latest.security.tests_failed} test${latest.security.tests_failed === 1 ? "" : "s"} failed` : "No grade yet.";
  $("grade-history").replaceChildren(...graded.map((s) => el("li", { class: `grade small g-${s.security.grade[0]}`,
    text: s.security.grade, title: `${new Date(s.started_at).toLocaleString()}: ${s.security.grade} (${s.security.score})` })));
}

function renderTlsGrade(scan) {  // the SSL Labs-style grade of the newest scan (docs/tls-rating.md)
  const rating = scan && scan.security ? scan.security.tls_rating : null;
  $("tls-grade-now").textContent = rating ? `TLS ${rating.grade}` +
    (rating.grade_ignoring_trust ? ` (${rating.grade_ignoring_trust} if the certificate were trusted)` : "") +
    ` — score ${rating.score}/100` + (rating.caps.length ? `, capped: ${rating.caps[0].reason}` : "")
    : "No TLS grade (not HTTPS, or not rated).";
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
  const axis = el("div", { class: "time-axis", "aria-hidden": "true" },
    el("span", { text: new Date(start).toLocaleString() }), el("span", { text: new Date(end).toLocaleString() }));
  box.appendChild(axis);
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
    list.appendChild(changeRow(change, false, () => openSite(state.current)));
  }
}

function renderAlerts(alerts) {
  const list = $("alerts");
  list.replaceChildren();
  if (!alerts.length) { list.appendChild(el("li", { class: "muted", text: "No alerts." })); return; }
  for (const alert of alerts) list.appendChild(alertRow(alert, () => openSite(state.current), false));
}

async function siteAction(path, message) {
  try { await api(`/api/v1/configs/${state.current}/${path}`, { method: "POST" }); toast(message); await openSite(state.current); }
  catch (error) { toast(error.message); }
}

// Edit and clone use the sites view's form, moved into this page (one form, one set of rules).
function editSite(mode) {
  resetSiteForm(mode, state.config);
  $("edit-title").textContent = mode === "edit" ? "Edit site" : "Clone site";
  $("form-title").textContent = "";
  $("edit-home").appendChild($("site-form"));
  $("edit-home").hidden = false;
  $("sf-name").focus();
}

async function deleteSite() {
  const config = state.config;
  const confirmed = await confirmAction(`Delete ${config.name}?`,
    `Scanning stops and its ${config.alert_rules.length} alert rule(s) are removed. Its scans, changes and alerts ` +
    "stay in the history (they are no longer listed with a site) until the retention period removes them " +
    "(SCAN_RETENTION_DAYS, 90 days by default). This cannot be undone.", "Delete site");
  if (!confirmed) return;
  await api(`/api/v1/configs/${config.id}`, { method: "DELETE" });
  toast(`${config.name} deleted.`);
  location.hash = "#/";
}

function wireSitePage() {
  $("scan-now").addEventListener("click", () => siteAction("scan", "Scan queued."));
  $("toggle-pause").addEventListener("click", () =>
    siteAction($("toggle-pause").dataset.paused === "true" ? "resume" : "pause", "Schedule updated."));
  $("edit-site").addEventListener("click", () => editSite("edit"));
  $("clone-site").addEventListener("click", () => editSite("clone"));
  $("delete-site").addEventListener("click", () => deleteSite().catch((error) => toast(error.message)));
}
