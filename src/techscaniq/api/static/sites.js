// The list of sites (search, filters, sort), the site form (add, edit, clone) with its schedule preview,
// and import/export of configs. Uses the helpers of app.js.
"use strict";

async function loadSites() {
  show("sites-view");
  homeSiteForm();
  await refreshSites();
}

// The form lives in the sites view's aside; editing or cloning borrows it into a site's page.
function homeSiteForm() {
  if ($("site-form").parentElement !== $("form-home")) {
    resetSiteForm("add");
    $("form-home").appendChild($("site-form"));
  }
  $("edit-home").hidden = true;
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

function siteCard(site) {
  const scan = site.last_scan;
  const chips = el("div", { class: "chips" });
  for (const tag of site.tags || []) chips.appendChild(el("span", { class: "chip tag", text: `#${tag}` }));
  for (const tech of (scan ? scan.technologies : []).slice(0, 8)) {
    chips.appendChild(el("span", { class: "chip", text: tech.version ? `${tech.name} ${tech.version}` : tech.name }));
  }
  if (scan && scan.technologies.length > 8) chips.appendChild(el("span", { class: "chip", text: `+${scan.technologies.length - 8}` }));
  const meta = el("div", { class: "meta" }, statusPill(site));
  if (scan) {
    meta.append(el("span", { text: `scanned ${ago(scan.started_at)}` }));
    if (scan.metrics && scan.metrics.ttfb_ms !== undefined) meta.append(el("span", { text: `TTFB ${TechCharts.formatValue(scan.metrics.ttfb_ms)} ms` }));
  }
  return el("a", { class: `site-card state-${availabilityOf(site).state}`, href: `#/site/${site.id}`, "data-config-id": site.id },
    siteGradeBadge(site), el("h3", { text: site.name }), el("div", { class: "url", text: site.url }), meta, chips);
}

const GRADE_ORDER = "A+ A A- B+ B B- C+ C C- D+ D D- E F".split(" ");
const STATE_ORDER = { down: 0, unknown: 1, up: 2, paused: 3 };
const gradeOf = (site) => (shownGrade(site) || {}).grade || null;
const techNames = (site) => (site.last_scan ? site.last_scan.technologies.map((t) => t.name) : []);

function fillOptions(select, values, anyLabel) {
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "", text: anyLabel }), ...values.map((v) => el("option", { value: v, text: v })));
  select.value = values.includes(chosen) ? chosen : "";
}

function matchingSites() {
  const text = $("site-search").value.trim().toLowerCase();
  const status = $("filter-status").value, grade = $("filter-grade").value;
  const tag = $("filter-tag").value, tech = $("filter-tech").value;
  const sites = [...state.sites.values()].filter((site) => {
    if (status && availabilityOf(site).state !== status) return false;
    if (grade && !(gradeOf(site) || "").startsWith(grade)) return false;
    if (tag && !(site.tags || []).includes(tag)) return false;
    if (tech && !techNames(site).includes(tech)) return false;
    const haystack = [site.name, site.url, ...(site.tags || []), ...techNames(site)].join(" ").toLowerCase();
    return !text || haystack.includes(text);
  });
  const sort = $("sort-sites").value;
  const rank = (g) => (g ? GRADE_ORDER.indexOf(g) : 99);
  const keys = {
    name: (a, b) => a.name.localeCompare(b.name),
    status: (a, b) => STATE_ORDER[availabilityOf(a).state] - STATE_ORDER[availabilityOf(b).state] || a.name.localeCompare(b.name),
    grade: (a, b) => rank(gradeOf(b)) - rank(gradeOf(a)) || a.name.localeCompare(b.name),
    scanned: (a, b) => ((b.last_scan || {}).started_at || "").localeCompare((a.last_scan || {}).started_at || ""),
  };
  return sites.sort(keys[sort] || keys.name);
}

function renderSites() {
  const all = [...state.sites.values()];
  fillOptions($("filter-tag"), [...new Set(all.flatMap((s) => s.tags || []))].sort(), "any");
  fillOptions($("filter-tech"), [...new Set(all.flatMap(techNames))].sort(), "any");
  const list = $("site-list");
  list.replaceChildren();
  const shown = matchingSites();
  if (all.length === 0) list.appendChild(el("p", { class: "empty", text: "No sites yet — add one to start monitoring." }));
  else if (shown.length === 0) list.appendChild(el("p", { class: "empty", text: "No site matches these filters." }));
  for (const site of shown) list.appendChild(siteCard(site));
  const count = (wanted) => all.filter((s) => availabilityOf(s).state === wanted).length;
  const down = count("down"), up = count("up"), paused = count("paused");
  const parts = [`${all.length} site${all.length === 1 ? "" : "s"}`];
  if (down) parts.push(`${down} down`);
  if (up && up === all.length) parts.push("all up"); else if (up) parts.push(`${up} up`);
  if (paused) parts.push(`${paused} paused`);
  if (shown.length !== all.length) parts.push(`${shown.length} shown`);
  $("sites-summary").textContent = parts.join(" · ");
}

// ---- the site form: add, edit, clone -----------------------------------------------------------

const FORM_MODES = {
  add: { title: "Add a site", submit: "Add and scan now" },
  edit: { title: "Edit site", submit: "Save changes" },
  clone: { title: "Clone site", submit: "Add the copy" },
};

function resetSiteForm(mode, config) {
  const form = $("site-form");
  form.reset();
  form.dataset.mode = mode;
  form.dataset.configId = config && mode === "edit" ? config.id : "";
  form.dataset.sourceId = config && mode === "clone" ? config.id : "";
  $("form-title").textContent = FORM_MODES[mode].title;
  $("sf-submit").textContent = FORM_MODES[mode].submit;
  $("sf-cancel").hidden = mode === "add";
  $("sf-error").textContent = "";
  $("sf-url-hint").replaceChildren();
  if (config) {
    $("sf-name").value = mode === "clone" ? `${config.name} (copy)` : config.name;
    $("sf-url").value = config.url;
    $("sf-tags").value = (config.tags || []).join(", ");
    $("sf-schedule-type").value = config.schedule.type;
    $("sf-expression").value = config.schedule.expression;
    $("sf-timezone").value = config.schedule.timezone;
    const scan = config.scan_config;
    for (const key of ["technologies", "performance", "security", "browser"]) $(`sf-${key}`).checked = Boolean(scan[key]);
    $("sf-full-page").checked = Boolean(scan.full_page);
    $("sf-threshold-load").value = scan.performance_thresholds.load_time ?? scan.performance_thresholds.load_time_ms ?? "";
    $("sf-threshold-ttfb").value = scan.performance_thresholds.ttfb ?? scan.performance_thresholds.ttfb_ms ?? "";
    $("sf-timeout").value = scan.timeout_seconds ?? "";
  } else {
    $("sf-expression").value = "1h";
    $("sf-timezone").value = "UTC";
  }
  scheduleKindChanged();
}

function formBody() {
  const thresholds = {};
  if ($("sf-threshold-load").value !== "") thresholds.load_time = Number($("sf-threshold-load").value);
  if ($("sf-threshold-ttfb").value !== "") thresholds.ttfb = Number($("sf-threshold-ttfb").value);
  const scanConfig = { technologies: $("sf-technologies").checked, performance: $("sf-performance").checked,
    security: $("sf-security").checked, browser: $("sf-browser").checked, full_page: $("sf-full-page").checked,
    performance_thresholds: thresholds, timeout_seconds: $("sf-timeout").value === "" ? null : Number($("sf-timeout").value) };
  return { name: $("sf-name").value.trim(), url: $("sf-url").value.trim(), tags: splitList($("sf-tags").value),
    schedule: scheduleOfForm(), scan_config: scanConfig };
}

const scheduleOfForm = () => ({ type: $("sf-schedule-type").value, expression: $("sf-expression").value.trim(),
  timezone: $("sf-timezone").value.trim() || "UTC" });

async function submitSiteForm(event) {
  event.preventDefault();
  const form = $("site-form"), mode = form.dataset.mode, button = $("sf-submit");
  $("sf-error").textContent = "";
  const body = formBody();
  if (!body.name) { $("sf-error").textContent = "Give the site a name."; return; }
  if (!body.url) { $("sf-error").textContent = "Enter the URL to monitor, e.g. https://example.com."; return; }
  button.disabled = true;
  try {
    if (mode === "edit") {
      const saved = await api(`/api/v1/configs/${form.dataset.configId}`, { method: "PATCH", json: body });
      homeSiteForm();
      toast(`${saved.name} saved.`);
      await openSite(saved.id);
    } else if (mode === "clone") {
      // The server copies the rules and their channels, secrets included (the page only sees them masked).
      const copy = await api(`/api/v1/configs/${form.dataset.sourceId}/clone`, { method: "POST", json: body });
      homeSiteForm();
      await refreshSites();
      toast(`${copy.name} added — a copy with its alert rules.`);
      location.hash = `#/site/${copy.id}`;
    } else {
      const created = await api("/api/v1/configs", { method: "POST", json: body });
      resetSiteForm("add");
      // From storage, not from the form: the first scan may already have finished (and been announced).
      await refreshSites();
      toast(`${created.name} added — its first scan is running.`);
    }
  } catch (error) {
    $("sf-error").textContent = error.message;
  } finally {
    button.disabled = !state.org.can_write;
  }
}

const normalizedUrl = (url) => url.trim().toLowerCase().replace(/\/+$/, "");

// `example.com` is offered as `https://example.com`; a URL another site already monitors is pointed out.
function checkUrl() {
  const hint = $("sf-url-hint"), value = $("sf-url").value.trim();
  hint.replaceChildren();
  if (!value) return;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value) && /^[\w.-]+\.[a-z]{2,}(:\d+)?(\/.*)?$/i.test(value)) {
    const offer = `https://${value}`;
    const use = el("button", { type: "button", class: "ghost small", text: `Use ${offer}` });
    use.addEventListener("click", () => { $("sf-url").value = offer; checkUrl(); });
    hint.append(`A URL needs its scheme. `, use);
    return;
  }
  const editing = $("site-form").dataset.configId;
  const same = [...state.sites.values()].find((s) => s.id !== editing && normalizedUrl(s.url) === normalizedUrl(value));
  if (same) hint.append(el("span", { class: "warning", text: `Already monitored as “${same.name}”. Adding it again scans it twice.` }));
}

// ---- schedule preview ---------------------------------------------------------------------------

function scheduleKindChanged() {
  const cron = $("sf-schedule-type").value === "cron";
  $("sf-expression-label").textContent = cron ? "Cron expression (minute hour day month weekday)" : "Scan every";
  $("sf-expression").setAttribute("list", cron ? "" : "interval-presets");
  $("sf-expression").placeholder = cron ? "0 9 * * 1-5" : "15m, 1h, 1d";
  if (cron && /^\d+[smhd]?$/.test($("sf-expression").value)) $("sf-expression").value = "0 * * * *";
  if (!cron && /\s/.test($("sf-expression").value)) $("sf-expression").value = "1h";
  previewSchedule();
}

let previewTimer = null;
function previewSchedule() {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(async () => {
    const box = $("sf-preview");
    if (!state.token && !state.csrf) return;
    try {
      const preview = await api("/api/v1/schedules/preview", { method: "POST", json: { schedule: scheduleOfForm(), count: 3 } });
      box.className = "preview";
      box.replaceChildren(el("span", { text: "Next runs: " }),
        ...preview.next_runs.map((run) => el("time", { datetime: run, text: when(run, preview.timezone) })));
    } catch (error) {
      box.className = "preview error";
      box.textContent = error.message;
    }
  }, 250);
}

function fillTimezones() {
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : ["UTC"];
  $("timezones").replaceChildren(...["UTC", ...zones.filter((z) => z !== "UTC")].map((zone) => el("option", { value: zone })));
}

// ---- import / export ----------------------------------------------------------------------------

async function exportConfigs(format) {
  const response = await fetch(`/api/v1/configs/export?format=${format}`, { headers: credentialHeaders(),
    credentials: "same-origin" });
  if (!response.ok) { toast(`Export failed: HTTP ${response.status}`); return; }
  const link = el("a", { href: URL.createObjectURL(await response.blob()), download: `techscaniq-configs.${format}` });
  document.body.appendChild(link);
  link.click();
  link.remove();
  toast(`Exported ${state.sites.size} site${state.sites.size === 1 ? "" : "s"} as ${format.toUpperCase()}.`);
}

const importState = { text: null, type: null };

async function importFile() {
  const file = $("import-file").files[0];
  if (!file) return;
  importState.text = await file.text();
  importState.type = /\.json$/i.test(file.name) ? "application/json" : "application/yaml";
  $("import-file").value = "";
  await runImport(true);
}

async function runImport(dryRun) {
  const response = await fetch(`/api/v1/configs/import?dry_run=${dryRun}`, { method: "POST", body: importState.text,
    credentials: "same-origin",
    headers: { ...credentialHeaders("POST"), "Content-Type": importState.type, Accept: "application/json" } });
  const outcome = await response.json().catch(() => ({}));
  $("import-panel").hidden = false;
  const items = $("import-items");
  items.replaceChildren();
  if (!response.ok) {
    $("import-summary").textContent = `The file cannot be imported: ${outcome.detail || response.statusText}`;
    $("import-apply").hidden = true;
    return;
  }
  const verb = dryRun ? "would be" : "were";
  $("import-summary").textContent = `${outcome.created.length} site(s) ${verb} created, ${outcome.updated.length} updated, ` +
    `${outcome.errors.length} refused.` + (dryRun ? " Nothing is stored until you import." : "");
  for (const id of outcome.created) items.appendChild(el("li", {}, el("span", { class: "pill ok", text: "create" }), el("span", { class: "grow", text: id })));
  for (const id of outcome.updated) items.appendChild(el("li", {}, el("span", { class: "pill warn", text: "update" }), el("span", { class: "grow", text: id })));
  for (const error of outcome.errors) {
    const detail = error.detail.map((d) => `${d.field || "item"}: ${d.message}`).join("; ");
    items.appendChild(el("li", {}, el("span", { class: "pill bad", text: "refused" }),
      el("span", { class: "grow", text: `item ${error.index}${error.name ? ` (${error.name})` : ""}: ${detail}` })));
  }
  $("import-apply").hidden = !dryRun || outcome.created.length + outcome.updated.length === 0;
  if (!dryRun) await refreshSites();
}

// ---- wiring --------------------------------------------------------------------------------------

function wireSites() {
  fillTimezones();
  $("site-form").addEventListener("submit", submitSiteForm);
  $("sf-cancel").addEventListener("click", homeSiteForm);
  $("sf-url").addEventListener("input", checkUrl);
  $("sf-schedule-type").addEventListener("change", scheduleKindChanged);
  for (const id of ["sf-expression", "sf-timezone"]) $(id).addEventListener("input", previewSchedule);
  for (const id of ["site-search", "filter-status", "filter-grade", "filter-tag", "filter-tech", "sort-sites"]) {
    $(id).addEventListener("input", renderSites);
  }
  $("export-json").addEventListener("click", () => exportConfigs("json"));
  $("export-yaml").addEventListener("click", () => exportConfigs("yaml"));
  $("import-file").addEventListener("change", () => importFile().catch((error) => toast(error.message)));
  $("import-apply").addEventListener("click", () => runImport(false).catch((error) => toast(error.message)));
  $("import-cancel").addEventListener("click", () => { $("import-panel").hidden = true; });
}
