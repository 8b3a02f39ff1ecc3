// Alerting: a site's rules with the rule builder and its channels (each rule has a Test button that sends a
// real notification), the delivery log with retries and dead letters, silences and maintenance windows.
"use strict";

const CHANNEL_FIELDS = {
  webhook: [["url", "Webhook URL", "https://hooks.example.com/techscaniq"], ["secret", "Signing secret (optional)", ""]],
  slack: [["webhook_url", "Slack webhook URL", "https://hooks.slack.com/services/…"], ["channel", "Slack channel (optional)", "#alerts"]],
  email: [["recipients", "Recipients (comma separated)", "ops@example.com"]],
  apprise: [["urls", "Apprise URLs (comma separated)", "mailto://…, tgram://…"]],
};
const LIST_FIELDS = new Set(["recipients", "urls"]);
const ruleState = { site: null, editing: null, channels: [] };

// ---- the rules of the open site ------------------------------------------------------------------

function describeRule(rule) {
  const c = rule.conditions;
  const parts = [`${c.type === "any" ? "any change" : `${c.type} changes`}`];
  if (c.change_types.length) parts.push(`(${c.change_types.join(", ")})`);
  parts.push(`of impact ${c.min_impact} or more`);
  if (c.technologies.length) parts.push(`on ${c.technologies.join(", ")}`);
  if (c.metrics.length) parts.push(`on ${c.metrics.join(", ")}`);
  const channels = rule.notification_channels.map((ch) => ch.type).join(", ") || "no channel";
  return `${parts.join(" ")} → ${rule.severity} alert via ${channels}` +
    (rule.throttle_minutes ? `, at most every ${rule.throttle_minutes} min` : "") + (rule.enabled ? "" : " (disabled)");
}

function renderRules(config) {
  const list = $("rules");
  list.replaceChildren();
  if (!config.alert_rules.length) list.appendChild(el("li", { class: "muted", text: "No alert rules: changes are recorded, nobody is notified." }));
  for (const rule of config.alert_rules) {
    const result = el("div", { class: "test-result", role: "status" });
    const row = el("li", { class: "rule", "data-rule-id": rule.id },
      el("span", { class: "grow" }, el("strong", { text: rule.name }), el("br"), el("span", { class: "muted", text: describeRule(rule) }), result),
      actionButton("Test", () => testRule(rule, result), { label: `Test ${rule.name}` }),
      actionButton("Edit", async () => editRule(rule), { label: `Edit ${rule.name}` }),
      actionButton("Delete", async () => {
        if (!await confirmAction(`Delete the rule ${rule.name}?`, "Its past alerts stay; no new alert is raised by it.", "Delete rule")) return;
        await api(`/api/v1/configs/${config.id}/rules/${rule.id}`, { method: "DELETE" });
        toast(`Rule ${rule.name} deleted.`);
        await openSite(config.id);
      }, { label: `Delete ${rule.name}` }));
    list.appendChild(row);
  }
  // Live updates re-render the page while someone types a rule: only another site, or a rule that went away,
  // clears the form.
  if (ruleState.site !== config.id || (ruleState.editing && !config.alert_rules.some((r) => r.id === ruleState.editing))) {
    ruleState.site = config.id;
    resetRuleForm();
  }
}

async function testRule(rule, result) {
  result.className = "test-result";
  result.textContent = "Sending a test notification…";
  const outcome = await api(`/api/v1/configs/${state.current}/rules/${rule.id}/test`, { method: "POST" });
  const failed = outcome.results.filter((r) => !r.ok);
  result.className = `test-result ${failed.length ? "bad" : "ok"}`;
  result.textContent = outcome.results.map((r) => `${r.type} #${r.channel_index + 1}: ` +
    (r.ok ? "delivered" : `failed — ${r.error}`)).join("; ");
}

// ---- the rule builder -------------------------------------------------------------------------------

function resetRuleForm() {
  ruleState.editing = null;
  ruleState.channels = [];
  $("rule-form").reset();
  $("rule-form-title").textContent = "New alert rule";
  $("rf-submit").textContent = "Save rule";
  $("rf-cancel").hidden = true;
  $("rf-error").textContent = "";
  renderChannels();
}

function editRule(rule) {
  ruleState.editing = rule.id;
  ruleState.channels = rule.notification_channels.map((channel) => ({ ...channel }));
  const c = rule.conditions;
  $("rf-name").value = rule.name;
  $("rf-type").value = c.type;
  $("rf-change-types").value = c.change_types.join(", ");
  $("rf-min-impact").value = c.min_impact;
  $("rf-technologies").value = c.technologies.join(", ");
  $("rf-metrics").value = c.metrics.join(", ");
  $("rf-severity").value = rule.severity;
  $("rf-throttle").value = rule.throttle_minutes;
  $("rf-resolve").checked = rule.notify_on_resolve;
  $("rule-form-title").textContent = `Edit rule ${rule.name}`;
  $("rf-submit").textContent = "Save changes";
  $("rf-cancel").hidden = false;
  renderChannels();
  $("rf-name").focus();
}

function renderChannels() {
  const box = $("rf-channels");
  box.replaceChildren();
  if (!ruleState.channels.length) box.appendChild(el("p", { class: "muted", text: "No channel yet: alerts are recorded but not sent." }));
  ruleState.channels.forEach((channel, index) => {
    const group = el("div", { class: "channel", role: "group", "aria-label": `Channel ${index + 1}: ${channel.type}` },
      el("strong", { text: `${index + 1}. ${channel.type}` }));
    for (const [field, label, placeholder] of CHANNEL_FIELDS[channel.type]) {
      const id = `rf-ch-${index}-${field}`;
      const value = channel[field];
      const input = el("input", { id, placeholder });
      input.value = Array.isArray(value) ? value.join(", ") : value || "";
      input.addEventListener("input", () => {
        channel[field] = LIST_FIELDS.has(field) ? splitList(input.value) : input.value.trim() || null;
      });
      group.append(el("label", { for: id, text: label }), input);
    }
    const remove = el("button", { type: "button", class: "ghost small", text: "Remove channel", "aria-label": `Remove channel ${index + 1}` });
    remove.addEventListener("click", () => { ruleState.channels.splice(index, 1); renderChannels(); });
    group.appendChild(remove);
    box.appendChild(group);
  });
  applyRole($("rule-form"));
}

function ruleBody() {
  const channels = ruleState.channels.map((channel) =>
    Object.fromEntries(Object.entries(channel).filter(([, value]) => value !== null && value !== "")));
  return { name: $("rf-name").value.trim(), severity: $("rf-severity").value,
    throttle_minutes: Number($("rf-throttle").value || 0), notify_on_resolve: $("rf-resolve").checked,
    conditions: { type: $("rf-type").value, change_types: splitList($("rf-change-types").value),
      min_impact: $("rf-min-impact").value, technologies: splitList($("rf-technologies").value),
      metrics: splitList($("rf-metrics").value) },
    notification_channels: channels };
}

async function saveRule(event) {
  event.preventDefault();
  $("rf-error").textContent = "";
  const body = ruleBody();
  if (!body.name) { $("rf-error").textContent = "Give the rule a name."; return; }
  const base = `/api/v1/configs/${state.current}/rules`;
  try {
    const saved = ruleState.editing
      ? await api(`${base}/${ruleState.editing}`, { method: "PUT", json: body })
      : await api(base, { method: "POST", json: body });
    toast(`Rule ${saved.name} saved.`);
    resetRuleForm();
    await openSite(state.current);
  } catch (error) {
    $("rf-error").textContent = error.message;
  }
}

// ---- the delivery log -----------------------------------------------------------------------------

function deliveryRow(delivery, refresh) {
  const statusClass = { delivered: "ok", dead: "bad", failed: "warn", pending: "idle" }[delivery.status] || "idle";
  const last = delivery.log.at(-1);
  const text = `${delivery.channel_type} #${delivery.channel_index + 1} · ${delivery.kind} · ${delivery.attempts} attempt(s)` +
    (delivery.last_error ? ` — ${delivery.last_error}` : "") +
    (delivery.status === "failed" ? ` · next try ${when(delivery.next_attempt_at)}` : "");
  const item = el("li", { "data-delivery-id": delivery.id }, el("span", { class: `pill ${statusClass}`, text: delivery.status }),
    el("span", { class: "grow", text }), el("time", { datetime: (last && last.at) || delivery.created_at, text: ago((last && last.at) || delivery.created_at) }));
  if (delivery.status === "dead" || delivery.status === "failed") {
    item.appendChild(actionButton("Retry now", async () => {
      await api(`/api/v1/deliveries/${delivery.id}/retry`, { method: "POST" });
      toast("Sent again.");
      await refresh();
    }));
  }
  return item;
}

async function renderDeliveries() {
  const status = $("dl-status").value;
  const deliveries = await api(`/api/v1/deliveries?limit=100${status ? `&status=${status}` : ""}`);
  const list = $("deliveries");
  list.replaceChildren();
  if (!deliveries.length) list.appendChild(el("li", { class: "muted", text: status === "dead" ? "No dead letters." : "No notifications yet." }));
  for (const delivery of deliveries) {
    const row = deliveryRow(delivery, renderDeliveries);
    row.querySelector(".grow").prepend(`${siteName(delivery.config_id)}: `);
    list.appendChild(row);
  }
}

// ---- silences and maintenance windows ---------------------------------------------------------------

const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

function describeSilence(silence) {
  const scope = silence.config_id ? siteName(silence.config_id) : "all sites";
  if (silence.daily_start) {
    const days = silence.weekdays.length ? silence.weekdays.map((d) => WEEKDAYS[d]).join(", ") : "every day";
    return `${scope}: maintenance ${days} ${silence.daily_start.slice(0, 5)}–${silence.daily_end.slice(0, 5)} (${silence.timezone})`;
  }
  return `${scope}: silenced until ${when(silence.ends_at)}`;
}

async function renderSilences() {
  const silences = await api("/api/v1/silences");
  const list = $("silences");
  list.replaceChildren();
  if (!silences.length) list.appendChild(el("li", { class: "muted", text: "Nothing is silenced." }));
  for (const silence of silences) {
    list.appendChild(el("li", { "data-silence-id": silence.id }, el("span", { class: "pill idle", text: silence.kind }),
      el("span", { class: "grow", text: describeSilence(silence) + (silence.comment ? ` — ${silence.comment}` : "") }),
      actionButton("Remove", async () => {
        await api(`/api/v1/silences/${silence.id}`, { method: "DELETE" });
        await renderSilences();
      }, { label: `Remove silence ${describeSilence(silence)}` })));
  }
}

async function addSilence(event) {
  event.preventDefault();
  $("sl-error").textContent = "";
  const kind = $("sl-kind").value;
  const body = { kind, config_id: $("sl-site").value || null, comment: $("sl-comment").value.trim() };
  if (kind === "silence") {
    const hours = Number($("sl-hours").value);
    if (!(hours > 0)) { $("sl-error").textContent = "For how many hours?"; return; }
    body.starts_at = new Date().toISOString();
    body.ends_at = new Date(Date.now() + hours * 3600 * 1000).toISOString();
  } else {
    Object.assign(body, { weekdays: [...$("sl-days").selectedOptions].map((o) => Number(o.value)),
      daily_start: $("sl-from").value, daily_end: $("sl-to").value, timezone: $("sl-timezone").value.trim() || "UTC" });
  }
  try {
    await api("/api/v1/silences", { method: "POST", json: body });
    $("silence-form").reset();
    silenceKindChanged();
    toast("Silence added.");
    await renderSilences();
  } catch (error) {
    $("sl-error").textContent = error.message;
  }
}

function silenceKindChanged() {
  const weekly = $("sl-kind").value === "maintenance";
  document.querySelector(".silence-once").hidden = weekly;
  document.querySelector(".silence-weekly").hidden = !weekly;
}

async function openAlerting() {
  show("alerting-view");
  if (!state.sites.size) await refreshSites();
  fillOptions($("sl-site"), [], "all sites");
  $("sl-site").append(...[...state.sites.values()].map((s) => el("option", { value: s.id, text: s.name })));
  await Promise.all([renderSilences(), renderDeliveries()]);
  applyRole($("alerting-view"));
}

function wireAlerting() {
  $("rule-form").addEventListener("submit", saveRule);
  $("rf-cancel").addEventListener("click", resetRuleForm);
  $("rf-add-channel-button").addEventListener("click", () => {
    const type = $("rf-add-channel").value;
    ruleState.channels.push(type === "email" ? { type, recipients: [] } : type === "apprise" ? { type, urls: [] } : { type });
    renderChannels();
    const first = $("rf-channels").querySelectorAll("input");
    if (first.length) first[first.length - CHANNEL_FIELDS[type].length].focus();
  });
  $("silence-form").addEventListener("submit", addSilence);
  $("sl-kind").addEventListener("change", silenceKindChanged);
  $("dl-status").addEventListener("change", () => renderDeliveries().catch((error) => toast(error.message)));
}
