// The portfolio: technologies across sites (who runs what, which version), the grade distribution and what
// changed this week — from the overview and the changes listing (the search issue brings a query engine).
"use strict";

function barRow(label, count, total, detail) {
  const bar = el("span", { class: "bar-fill" });
  bar.style.width = `${total ? (100 * count) / total : 0}%`;
  return el("li", {}, el("span", { class: "grow" }, el("strong", { text: label }), detail ? el("small", { class: "muted", text: ` ${detail}` }) : null,
    el("span", { class: "bar-track", "aria-hidden": "true" }, bar)), el("span", { text: `${count} of ${total}` }));
}

function renderPortfolioTech() {
  const sites = [...state.sites.values()];
  const wanted = $("pf-tech-search").value.trim().toLowerCase();
  const byTech = new Map();
  for (const site of sites) {
    for (const tech of site.last_scan ? site.last_scan.technologies : []) {
      if (wanted && !tech.name.toLowerCase().includes(wanted)) continue;
      const entry = byTech.get(tech.name) || { sites: [], versions: new Set() };
      entry.sites.push(site.name);
      if (tech.version) entry.versions.add(tech.version);
      byTech.set(tech.name, entry);
    }
  }
  const rows = [...byTech.entries()].sort((a, b) => b[1].sites.length - a[1].sites.length || a[0].localeCompare(b[0])).slice(0, 40);
  $("pf-tech").replaceChildren(...(rows.length ? rows.map(([name, entry]) => barRow(name, entry.sites.length, sites.length,
    `${entry.versions.size ? `versions ${[...entry.versions].join(", ")} · ` : ""}${entry.sites.join(", ")}`))
    : [el("li", { class: "muted", text: "No technology matches." })]));
}

async function openPortfolio() {
  show("portfolio-view");
  await refreshSites();
  renderPortfolioTech();
  const sites = [...state.sites.values()];
  const grades = new Map();
  for (const site of sites) {
    const grade = shownGrade(site) ? shownGrade(site).grade[0] : "no grade";
    grades.set(grade, (grades.get(grade) || 0) + 1);
  }
  $("pf-grades").replaceChildren(...["A", "B", "C", "D", "E", "F", "no grade"].filter((g) => grades.has(g))
    .map((g) => barRow(g, grades.get(g), sites.length)));
  const since = new Date(Date.now() - 7 * 86400e3).toISOString();
  const changes = await api(`/api/v1/changes?since=${encodeURIComponent(since)}&limit=200`);
  $("pf-week").replaceChildren(...(changes.length ? changes.map((c) => changeRow(c, true))
    : [el("li", { class: "muted", text: "Nothing changed in the last 7 days." })]));
}

// Who runs WordPress below 6.5: the search API's query language, its matching sites and the versions their
// technologies run (the facets of the same query).
async function findPortfolioSites() {
  const q = $("pf-query").value.trim();
  if (!q) throw new Error("query: e.g. tech:WordPress version:<6.5");
  const query = encodeURIComponent(q);
  const [found, facets] = await Promise.all([api(`/api/v1/search?kind=sites&limit=100&q=${query}`),
    api(`/api/v1/search/facets?weeks=1&q=${query}`)]);
  $("pf-query-summary").textContent = `${found.total} site${found.total === 1 ? "" : "s"} match` +
    (found.total > found.items.length ? ` (the first ${found.items.length} shown)` : "");
  $("pf-found").replaceChildren(...found.items.map((site) => el("li", { class: "found-site" },
    el("a", { class: "grow", href: `#/site/${encodeURIComponent(site.id)}`, text: site.name || site.url }),
    el("small", { class: "muted", text: (site.technologies || []).filter((t) => t.version).slice(0, 4)
      .map((t) => `${t.name} ${t.version}`).join(", ") }))));
  $("pf-versions").replaceChildren(...facets.technologies.filter((tech) => tech.versions.length).slice(0, 10)
    .flatMap((tech) => tech.versions.map((v) => barRow(`${tech.name} ${v.version}`, v.sites, facets.sites))));
}

function wirePortfolio() {
  $("pf-tech-search").addEventListener("input", renderPortfolioTech);
  $("pf-query-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("pf-query-error").textContent = "";
    try { await findPortfolioSites(); } catch (error) { $("pf-query-error").textContent = error.message; }
  });
}
