// The inbox: every change and alert across sites, filtered (site, tag, type, impact, time, alert status),
// with acknowledge / resolve / false positive; a change opens to its evidence and both scans it compares.
"use strict";

function alertRow(alert, refresh, withSite) {
  const item = el("li", { class: "alert-row", "data-alert-id": alert.id },
    el("span", { class: `pill ${alert.status === "resolved" ? "ok" : impactClass(alert.severity)}`, text: alert.status }),
    el("span", { class: "grow" }, withSite ? el("a", { href: `#/site/${alert.config_id}`, text: siteName(alert.config_id) }) : null,
      withSite ? ": " : "", alertText(alert),
      alert.silenced ? el("small", { class: "muted", text: " (silenced: nobody was notified)" }) : null,
      alert.occurrences > 1 ? el("small", { class: "muted", text: ` ×${alert.occurrences}` }) : null),
    el("time", { datetime: alert.triggered_at, text: ago(alert.triggered_at) }));
  if (alert.status !== "resolved") {
    for (const action of alert.status === "triggered" ? ["acknowledge", "resolve"] : ["resolve"]) {
      item.appendChild(actionButton(action === "acknowledge" ? "Acknowledge" : "Resolve", async () => {
        await api(`/api/v1/alerts/${alert.id}/${action}`, { method: "POST" });
        toast(action === "acknowledge" ? "Acknowledged." : "Resolved.");
        await refresh();
      }, { label: `${action} ${alertText(alert)}` }));
    }
  }
  const log = el("ul", { class: "rows nested", hidden: "" });
  const toggle = el("button", { type: "button", class: "ghost small", text: "Deliveries", "aria-expanded": "false" });
  toggle.addEventListener("click", async () => {
    const open = log.hidden;
    log.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
    if (!open) return;
    const deliveries = await api(`/api/v1/alerts/${alert.id}/deliveries`);
    const reload = async () => { log.replaceChildren(...(await api(`/api/v1/alerts/${alert.id}/deliveries`)).map((d) => deliveryRow(d, reload))); };
    log.replaceChildren(...(deliveries.length ? deliveries.map((d) => deliveryRow(d, reload))
      : [el("li", { class: "muted", text: alert.silenced || alert.throttled ? "Not sent (silenced or throttled)." : "No notification: the rule has no channel." })]));
  });
  item.append(toggle, log);
  return item;
}

function changeRow(change, withSite, refresh) {
  const open = el("button", { type: "button", class: "ghost small", text: "Evidence", "aria-label": `Evidence of ${changeText(change)}` });
  open.addEventListener("click", () => showChange(change.id).catch((error) => toast(error.message)));
  const item = el("li", { class: "change-row", "data-change-id": change.id },
    el("span", { class: `pill ${impactClass(change.impact)}`, text: change.impact }),
    el("span", { class: "grow" }, withSite ? el("a", { href: `#/site/${change.config_id}`, text: siteName(change.config_id) }) : null,
      withSite ? ": " : "", changeText(change), change.false_positive ? el("small", { class: "muted", text: " — marked false positive" }) : null),
    el("time", { datetime: change.detected_at, text: ago(change.detected_at) }), open);
  if (refresh) {
    item.appendChild(actionButton(change.false_positive ? "Not a false positive" : "False positive", async () => {
      await api(`/api/v1/changes/${change.id}/false-positive`, { method: change.false_positive ? "DELETE" : "POST" });
      await refresh();
    }, { label: `${change.false_positive ? "Unmark" : "Mark"} false positive: ${changeText(change)}` }));
  }
  return item;
}

function valueBlock(label, value) {
  return el("div", { class: "value" }, el("h3", { text: label }),
    el("pre", { text: value === null || value === undefined ? "—" : typeof value === "object" ? JSON.stringify(value, null, 2) : String(value) }));
}

async function showChange(id) {
  const change = await api(`/api/v1/changes/${id}`);
  $("change-title").textContent = changeText(change);
  const links = el("p", {}, "Compares ",
    change.previous_scan_id ? el("a", { href: `#/scan/${change.previous_scan_id}`, text: "the previous scan" }) : "no earlier scan",
    " with ", el("a", { href: `#/scan/${change.scan_id}`, text: "this scan" }), ".");
  for (const link of links.querySelectorAll("a")) link.addEventListener("click", () => $("change-dialog").close());
  const evidence = change.evidence || {};
  const matched = evidence.pattern || evidence.matched || evidence.patterns || null;
  $("change-detail").replaceChildren(
    el("p", { class: "muted", text: `${change.type} · ${change.change_type} · impact ${change.impact} · ${when(change.detected_at)} · ${siteName(change.config_id)}` }),
    el("div", { class: "before-after" }, valueBlock("Before", change.before), valueBlock("After", change.after)),
    matched ? valueBlock("Matched pattern", matched) : null,
    valueBlock("Evidence", evidence), links);
  $("change-dialog").showModal();
}

async function openScan(id) {
  show("scan-view");
  const scan = await api(`/api/v1/scans/${id}`);
  const code = scan.response ? scan.response.status_code : null;
  $("scan-title").textContent = `Scan of ${siteName(scan.config_id)} at ${when(scan.started_at)}`;
  const techs = scan.technologies.map((t) => (t.version ? `${t.name} ${t.version}` : t.name));
  $("scan-detail").replaceChildren(el("dl", { class: "facts" },
    el("dt", { text: "Site" }), el("dd", {}, el("a", { href: `#/site/${scan.config_id}`, text: siteName(scan.config_id) })),
    el("dt", { text: "URL" }), el("dd", { text: scan.url }),
    el("dt", { text: "Result" }), el("dd", { text: scan.status === "success" ? `HTTP ${code}` : `failed: ${scan.error ? scan.error.message : "error"}` }),
    el("dt", { text: "Grade" }), el("dd", { text: scan.security ? `${scan.security.grade} (score ${scan.security.score})` : "—" }),
    el("dt", { text: "Technologies" }), el("dd", { text: techs.join(", ") || "none detected" }),
    el("dt", { text: "Duration" }), el("dd", { text: scan.duration_ms !== null ? `${Math.round(scan.duration_ms)} ms` : "—" })));
}

async function openInbox() {
  const newest = newestOnly("inbox");
  show("inbox-view");
  if (!state.sites.size) await refreshSites();
  const siteSelect = $("ib-site"), chosen = siteSelect.value;
  siteSelect.replaceChildren(el("option", { value: "", text: "all sites" }),
    ...[...state.sites.values()].map((s) => el("option", { value: s.id, text: s.name })));
  siteSelect.value = state.sites.has(chosen) ? chosen : "";
  fillOptions($("ib-tag"), [...new Set([...state.sites.values()].flatMap((s) => s.tags || []))].sort(), "any");
  const query = new URLSearchParams({ limit: "200" });
  if (siteSelect.value) query.set("config_id", siteSelect.value);
  if ($("ib-since").value) query.set("since", new Date(Date.now() - Number($("ib-since").value) * 86400e3).toISOString());
  const changeQuery = new URLSearchParams(query), alertQuery = new URLSearchParams(query);
  if ($("ib-type").value) changeQuery.set("type", $("ib-type").value);
  if ($("ib-impact").value) changeQuery.set("min_impact", $("ib-impact").value);
  if ($("ib-status").value) alertQuery.set("status", $("ib-status").value);
  const [changes, alerts] = await Promise.all([api(`/api/v1/changes?${changeQuery}`), api(`/api/v1/alerts?${alertQuery}`)]);
  if (!newest()) return;
  const tag = $("ib-tag").value;
  const tagged = (item) => !tag || ((state.sites.get(item.config_id) || {}).tags || []).includes(tag);
  const impacts = ["low", "medium", "high", "critical"];
  const minImpact = impacts.indexOf($("ib-impact").value);
  const shownAlerts = alerts.filter(tagged).filter((a) => minImpact < 0 || impacts.indexOf(a.severity) >= minImpact);
  const shownChanges = changes.filter(tagged);
  $("ib-alerts").replaceChildren(...(shownAlerts.length ? shownAlerts.map((a) => alertRow(a, openInbox, true))
    : [el("li", { class: "muted", text: "No alerts match." })]));
  $("ib-changes").replaceChildren(...(shownChanges.length ? shownChanges.map((c) => changeRow(c, true, openInbox))
    : [el("li", { class: "muted", text: "No changes match." })]));
  const open = shownAlerts.filter((a) => a.status === "triggered").length;
  $("inbox-summary").textContent = `${open} open alert${open === 1 ? "" : "s"} · ${shownChanges.length} change${shownChanges.length === 1 ? "" : "s"}`;
  applyRole($("inbox-view"));
}

function wireInbox() {
  for (const id of ["ib-site", "ib-tag", "ib-type", "ib-impact", "ib-since", "ib-status"]) {
    $(id).addEventListener("change", () => openInbox().catch((error) => toast(error.message)));
  }
}
