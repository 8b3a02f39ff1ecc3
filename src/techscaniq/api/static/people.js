// Access: for owners and admins the members and their roles, invitations, API keys, the audit log and single
// sign-on; for every person signed in with email and password their sessions and second factor (TOTP).
// What the API answers only once (links, keys, recovery codes) is shown once, with a copy button.
"use strict";

const ROLES = ["viewer", "editor", "admin", "owner"];
const grants = (role, other) => ROLES.indexOf(role) >= ROLES.indexOf(other);  // `role` may hand out `other`
const isAdmin = () => Boolean(state.org) && grants(state.org.role, "admin");
const accessState = { session: null, audit: [] };

async function copyText(text) {
  try { await navigator.clipboard.writeText(text); toast("Copied."); }
  catch { toast("Copying was refused by the browser: select the text and copy it."); }
}

// A secret the API shows only now: a read-only field (select it) and a copy button.
function showOnce(container, label, value, note) {
  const id = `${container.id}-value`;
  const copy = el("button", { type: "button", class: "ghost small", text: "Copy", "aria-label": `Copy: ${label}` });
  copy.addEventListener("click", () => copyText(value));
  const field = el("input", { id, readonly: "", value });
  container.replaceChildren(el("label", { for: id, text: label }), el("div", { class: "row" }, field, copy),
    el("p", { class: "hint muted", text: note }));
  container.hidden = false;
  field.select();
}

// A button that calls the API; its failure is shown in `errorNode` (the API's message names the field).
function accessButton(label, run, errorNode, options = {}) {
  const button = el("button", { type: "button", class: options.cls || "ghost small", text: label });
  if (options.label) button.setAttribute("aria-label", options.label);
  button.addEventListener("click", async () => {
    button.disabled = true;
    errorNode.textContent = "";
    try { await run(); } catch (error) { errorNode.textContent = error.message; } finally { button.disabled = false; }
  });
  return button;
}

// A form whose submit calls the API, with its errors in `errorId`.
function onSubmit(formId, errorId, run) {
  $(formId).addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = $(formId).querySelector("button[type=submit]");
    $(errorId).textContent = "";
    button.disabled = true;
    try { await run(); } catch (error) { $(errorId).textContent = error.message; } finally { button.disabled = false; }
  });
}

function roleOptions(select, chosen) {
  select.replaceChildren(...ROLES.filter((role) => grants(state.org.role, role))
    .map((role) => el("option", { value: role, text: role })));
  select.value = chosen && grants(state.org.role, chosen) ? chosen : "viewer";
}

async function openAccess() {
  show("access-view");
  accessState.session = state.csrf ? await api("/api/v1/session") : null;
  renderMe();
  const admin = isAdmin();
  for (const node of document.querySelectorAll("#access-view .admin-only")) node.hidden = !admin;
  $("access-summary").textContent = admin
    ? `You are ${state.org.role} of ${state.org.organization_id}: you manage its people, keys and settings.`
    : `You are ${state.org.role} of ${state.org.organization_id}. Members, keys and the audit log are for its owners and admins.`;
  if (!admin) return;
  for (const select of document.querySelectorAll("#access-view .role-choice")) roleOptions(select, select.value);
  await Promise.all([renderMembers(), renderInvitations(), renderKeys(), renderAudit(), renderSso()]);
}

// ---- the organization switcher (top bar) --------------------------------------------------------

// A person in several organizations picks the one they work in; the API refuses any they are not a member of.
function renderOrganizationSwitch() {
  const organizations = state.session && !state.token ? state.session.organizations : [];
  const select = $("org-switch");
  select.hidden = organizations.length < 2;
  $("org-name").hidden = !select.hidden;
  if (select.hidden) return;
  select.replaceChildren(...organizations.map((org) => el("option", { value: org.organization_id,
    text: `${org.organization_name || org.organization_id} · ${org.role}` })));
  select.value = state.session.organization_id;
}

async function switchOrganization() {
  const select = $("org-switch");
  try {
    await api("/api/v1/session/organization", { method: "PUT", json: { organization_id: select.value } });
  } catch (error) {
    select.value = state.session.organization_id;
    toast(error.message);
    return;
  }
  // Everything shown (sites, the live connection) belongs to the other organization now: start afresh, on the
  // same section (a site or a scan of the one left is not in the other).
  if (/^#\/(site|scan)\//.test(location.hash)) location.hash = "#/";
  location.reload();
}

// ---- the signed-in person ----------------------------------------------------------------------

function renderMe() {
  const session = accessState.session;
  $("me-person").hidden = !session;
  if (!session) {
    $("me-who").textContent = `Signed in with an API key or a token (${state.org.subject}, ${state.org.role}). ` +
      "Sessions and the second factor belong to people who sign in with email and password.";
    return;
  }
  $("me-who").textContent = `${session.email} · ${session.role} · this session ends ${when(session.expires_at)} at the latest`;
  $("totp-status").textContent = session.totp_enabled
    ? "On: signing in asks for a code from your authenticator app."
    : "Off: signing in needs only your password.";
  $("totp-start").hidden = session.totp_enabled || !$("totp-setup").hidden;
  $("totp-off").hidden = !session.totp_enabled;
}

async function startTotp() {
  const setup = await api("/api/v1/session/totp", { method: "POST" });
  $("totp-qr").src = setup.qr_svg;
  $("totp-secret").textContent = setup.secret;
  $("totp-recovery").hidden = true;
  $("totp-setup").hidden = false;
  $("totp-start").hidden = true;
  $("totp-code").focus();
}

async function confirmTotp() {
  const answer = await api("/api/v1/session/totp/confirm", { method: "POST", json: { code: $("totp-code").value.trim() } });
  $("totp-codes").replaceChildren(...answer.recovery_codes.map((code) => el("li", {}, el("code", { text: code }))));
  accessState.recovery = answer.recovery_codes.join("\n");
  $("totp-recovery").hidden = false;
  $("totp-setup").hidden = true;
  $("totp-code").value = "";
  accessState.session = await api("/api/v1/session");
  renderMe();
}

async function disableTotp() {
  const code = $("totp-off-code").value.trim();
  if (!code) throw new Error("code: enter the app's current code or a recovery code");
  if (!await confirmAction("Turn off the second factor?", "Signing in will need only your password again.", "Turn off")) return;
  await api("/api/v1/session/totp", { method: "DELETE", json: { code } });
  $("totp-off-code").value = "";
  $("totp-recovery").hidden = true;
  toast("The second factor is off.");
  accessState.session = await api("/api/v1/session");
  renderMe();
}

async function signOutEverywhere() {
  if (!await confirmAction("Sign out everywhere?", "Every session of your account ends, in every browser — this one too. " +
    "You sign in again with your password.", "Sign out everywhere")) return;
  // The live socket closes as the sessions end: it must not sign this (ended) session out a second time.
  if (state.socket) { state.socket.onclose = null; state.socket.close(); state.socket = null; }
  await api("/api/v1/session/sign-out-everywhere", { method: "POST" });
  state.csrf = null;
  location.replace("/static/login.html");
}

// ---- members and invitations -------------------------------------------------------------------

async function renderMembers() {
  const members = await api("/api/v1/members");
  const me = accessState.session ? accessState.session.user_id : null;
  $("members").replaceChildren(...members.map((member) => memberRow(member, member.user_id === me)));
}

function memberRow(member, isMe) {
  // Admins manage editors, viewers and admins; only an owner makes or unmakes an owner.
  const manageable = member.role !== "owner" || state.org.role === "owner";
  const select = el("select", { "aria-label": `Role of ${member.email}` });
  roleOptions(select, member.role);
  if (!grants(state.org.role, member.role)) select.replaceChildren(el("option", { value: member.role, text: member.role }));
  select.disabled = !manageable;
  const error = $("members-error");
  const item = el("li", { class: "member-row", "data-user-id": member.user_id },
    el("span", { class: "grow" }, el("strong", { text: member.email }),
      member.name ? el("small", { class: "muted", text: ` ${member.name}` }) : null,
      isMe ? el("small", { class: "muted", text: " (you)" }) : null),
    el("span", { class: "pill idle", text: member.role }), select);
  if (!manageable) return item;
  item.append(
    accessButton("Change role", async () => {
      if (select.value === member.role) throw new Error(`role: ${member.email} is ${member.role} already`);
      const changed = await api(`/api/v1/members/${encodeURIComponent(member.user_id)}`, { method: "PUT", json: { role: select.value } });
      toast(`${changed.email} is now ${changed.role}.`);
      await Promise.all([renderMembers(), renderAudit()]);
    }, error, { label: `Change role of ${member.email}` }),
    accessButton("Password reset link", async () => {
      const link = await api(`/api/v1/members/${encodeURIComponent(member.user_id)}/password-reset`, { method: "POST" });
      showOnce($("member-link"), `Password reset link for ${link.email}`, link.link,
        `Works once, until ${when(link.expires_at)}.${link.emailed ? " It was emailed to them too." : " Give it to them."}`);
    }, error, { label: `Password reset link for ${member.email}` }),
    accessButton("Remove", async () => {
      if (!await confirmAction(`Remove ${member.email}?`, "They lose access to this organization at once and their sessions " +
        "in it end. Their account stays, and an invitation brings them back.", "Remove member")) return;
      await api(`/api/v1/members/${encodeURIComponent(member.user_id)}`, { method: "DELETE" });
      toast(`${member.email} was removed.`);
      await Promise.all([renderMembers(), renderAudit()]);
    }, error, { cls: "ghost small danger", label: `Remove ${member.email}` }));
  return item;
}

async function invite() {
  const email = $("iv-email").value.trim();
  if (!email) throw new Error("email: enter the address of the person to invite");
  const link = await api("/api/v1/invitations", { method: "POST", json: { email, role: $("iv-role").value } });
  showOnce($("iv-result"), `Invitation link for ${link.email} (${$("iv-role").value})`, link.link,
    `Shown only now. Works once, until ${when(link.expires_at)}.${link.emailed ? " It was emailed to them too." : " Give it to them."}`);
  $("iv-email").value = "";
  await Promise.all([renderInvitations(), renderAudit()]);
}

async function renderInvitations() {
  const pending = await api("/api/v1/invitations");
  $("invitations").replaceChildren(...(pending.length ? pending.map(invitationRow)
    : [el("li", { class: "muted", text: "None: every invitation was accepted, revoked or has expired." })]));
}

function invitationRow(invitation) {
  const item = el("li", { class: "invitation-row", "data-invitation-id": invitation.id },
    el("span", { class: "grow" }, el("strong", { text: invitation.email }),
      el("small", { class: "muted", text: ` by ${invitation.created_by}, works until ${when(invitation.expires_at)}` })),
    el("span", { class: "pill idle", text: invitation.role }));
  if (!grants(state.org.role, invitation.role)) return item;
  item.append(accessButton("Revoke", async () => {
    if (!await confirmAction(`Revoke the invitation of ${invitation.email}?`, "Its link stops working at once. " +
      "You can invite them again.", "Revoke invitation")) return;
    await api(`/api/v1/invitations/${encodeURIComponent(invitation.id)}`, { method: "DELETE" });
    toast(`The invitation of ${invitation.email} was revoked.`);
    await Promise.all([renderInvitations(), renderAudit()]);
  }, $("invitations-error"), { cls: "ghost small danger", label: `Revoke the invitation of ${invitation.email}` }));
  return item;
}

// ---- API keys ----------------------------------------------------------------------------------

async function renderKeys() {
  const keys = await api("/api/v1/api-keys");
  $("api-keys").replaceChildren(...(keys.length ? keys.map(keyRow) : [el("li", { class: "muted", text: "No API keys yet." })]));
}

function keyRow(key) {
  const item = el("li", { class: "key-row", "data-key-id": key.id },
    el("span", { class: "grow" }, el("strong", { text: key.name }),
      el("small", { class: "muted", text: ` created ${ago(key.created_at)} by ${key.created_by}` })),
    el("span", { class: "pill idle", text: key.role }),
    el("span", { class: "last-used", text: key.last_used_at ? `last used ${ago(key.last_used_at)}` : "never used" }));
  if (key.revoked_at) {
    item.append(el("span", { class: "pill bad", text: `revoked ${ago(key.revoked_at)}` }));
    return item;
  }
  item.append(accessButton("Revoke", async () => {
    if (!await confirmAction(`Revoke the key “${key.name}”?`, "Every request with it — and every token exchanged for it — " +
      "is refused at once, on every replica. This cannot be undone.", "Revoke key")) return;
    await api(`/api/v1/api-keys/${encodeURIComponent(key.id)}`, { method: "DELETE" });
    toast(`The key “${key.name}” was revoked.`);
    await Promise.all([renderKeys(), renderAudit()]);
  }, $("key-error"), { cls: "ghost small danger", label: `Revoke ${key.name}` }));
  return item;
}

async function createKey() {
  const name = $("key-name").value.trim();
  if (!name) throw new Error("name: say what the key is for (e.g. deploy pipeline)");
  const key = await api("/api/v1/api-keys", { method: "POST", json: { name, role: $("key-role").value } });
  showOnce($("key-created"), `API key “${key.name}” (${key.role})`, key.key,
    "Shown only now: only its hash is stored. Send it as X-API-Key or Authorization: Bearer.");
  $("key-name").value = "";
  await Promise.all([renderKeys(), renderAudit()]);
}

// ---- the audit log -----------------------------------------------------------------------------

function auditSince() {
  const days = $("au-since").value;
  return days ? new Date(Date.now() - Number(days) * 86400e3).toISOString() : null;
}

const AUDIT_PAGE = 200;

// The log's own filters (the API's): who, action or route prefix, target, time range.
function auditQuery() {
  const query = new URLSearchParams({ limit: String(AUDIT_PAGE) });
  if (auditSince()) query.set("since", auditSince());
  for (const [id, name] of [["au-actor", "actor"], ["au-action", "action_prefix"], ["au-target", "target"]]) {
    if ($(id).value.trim()) query.set(name, $(id).value.trim());
  }
  if ($("au-until").value) query.set("until", new Date($("au-until").value).toISOString());
  return query;
}

// The newest page, or (`older`) the next page after what is shown, by the API's cursor.
async function renderAudit(older = false) {
  const query = auditQuery();
  if (older && accessState.auditCursor) query.set("cursor", accessState.auditCursor);
  let cursor = null;
  const page = await api(`/api/v1/audit?${query}`, { onResponse: (response) => { cursor = response.headers.get("X-Next-Cursor"); } });
  accessState.audit = older ? accessState.audit.concat(page) : page;
  accessState.auditCursor = cursor;
  $("au-more").hidden = !cursor;
  renderAuditRows();
}

function renderAuditRows() {
  const wanted = $("au-filter").value.trim().toLowerCase();
  const shown = accessState.audit.filter((entry) => !wanted ||
    [entry.actor, entry.action, entry.target].some((text) => text.toLowerCase().includes(wanted)));
  $("au-summary").textContent = `${shown.length} of the newest ${accessState.audit.length} matching entries` +
    (accessState.auditCursor ? " (older ones: “Show older entries”, or export)" : "");
  $("audit").replaceChildren(...(shown.length ? shown.map(auditRow) : [el("li", { class: "muted", text: "No entries match." })]));
}

// The request body the entry recorded (secrets masked by the API), as "field: value" pairs.
function auditBody(details) {
  const body = details ? details.body : undefined;
  if (body === undefined || body === null) return "";
  if (typeof body !== "object" || Array.isArray(body)) return typeof body === "string" ? body : JSON.stringify(body);
  return Object.entries(body).map(([key, value]) => `${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`).join(", ");
}

function auditRow(entry) {
  const details = auditBody(entry.details);
  return el("li", { class: "audit-row", "data-audit-id": entry.id },
    el("span", { class: `pill ${entry.outcome < 400 ? "ok" : "bad"}`, text: String(entry.outcome) }),
    el("span", { class: "grow" }, el("strong", { text: entry.action }), entry.target ? ` · ${entry.target}` : "",
      el("br"), el("small", { class: "muted", text: `${entry.actor}${entry.address ? ` from ${entry.address}` : ""}` }),
      details ? el("small", { class: "details", text: ` · ${details.slice(0, 300)}` }) : null),
    el("time", { datetime: entry.at, title: when(entry.at), text: ago(entry.at) }));
}

async function exportAudit() {
  const since = auditSince();
  const response = await fetch(`/api/v1/audit/export${since ? `?since=${encodeURIComponent(since)}` : ""}`,
    { headers: credentialHeaders(), credentials: "same-origin" });
  if (!response.ok) { toast(`Export failed: HTTP ${response.status}`); return; }
  const link = el("a", { href: URL.createObjectURL(await response.blob()), download: `audit-${state.org.organization_id}.jsonl` });
  document.body.appendChild(link);
  link.click();
  link.remove();
}

// ---- single sign-on ----------------------------------------------------------------------------

const SSO_FIELDS = ["sso-issuer", "sso-client-id", "sso-client-secret", "sso-role-claim", "sso-default-role", "sso-role-map", "sso-save"];

async function renderSso() {
  let sso = null;
  try { sso = await api("/api/v1/sso"); } catch (error) { if (error.status !== 404) throw error; }
  const owner = state.org.role === "owner";
  $("sso-issuer").value = sso ? sso.issuer : "";
  $("sso-client-id").value = sso ? sso.client_id : "";
  $("sso-client-secret").value = sso ? sso.client_secret : "";  // the mask: sent back as it is, it keeps the secret
  $("sso-role-claim").value = sso ? sso.role_claim : "groups";
  $("sso-default-role").value = sso && sso.default_role ? sso.default_role : "";
  $("sso-role-map").value = sso ? Object.entries(sso.role_map).map(([value, role]) => `${value} = ${role}`).join("\n") : "";
  for (const id of SSO_FIELDS) $(id).disabled = !owner;
  $("sso-delete").hidden = !(sso && owner);
  $("sso-status").textContent = (sso ? "On: people of the organization can sign in with its identity provider." : "Off.") +
    (owner ? "" : " Only an owner changes it.");
  $("sso-urls").hidden = !sso;
  if (sso) {
    $("sso-login-url").textContent = sso.login_url;
    $("sso-login-url").href = sso.login_url;
    $("sso-redirect-uri").textContent = sso.redirect_uri;
  }
}

// "claim value = role" lines; a wrong line is named by its number.
function parseRoleMap(text) {
  const map = {};
  text.split("\n").forEach((line, index) => {
    if (!line.trim()) return;
    const match = line.match(/^\s*(.+?)\s*[=:]\s*(\w+)\s*$/);
    if (!match) throw new Error(`role map, line ${index + 1}: write it as "claim value = role"`);
    if (!ROLES.includes(match[2])) throw new Error(`role map, line ${index + 1}: "${match[2]}" is not a role (${ROLES.join(", ")})`);
    map[match[1]] = match[2];
  });
  return map;
}

async function saveSso() {
  const body = { issuer: $("sso-issuer").value.trim(), client_id: $("sso-client-id").value.trim(),
    client_secret: $("sso-client-secret").value, role_claim: $("sso-role-claim").value.trim() || "groups",
    role_map: parseRoleMap($("sso-role-map").value), default_role: $("sso-default-role").value || null };
  await api("/api/v1/sso", { method: "PUT", json: body });
  toast("Single sign-on saved.");
  await Promise.all([renderSso(), renderAudit()]);
}

async function deleteSso() {
  if (!await confirmAction("Turn off single sign-on?", "People who signed in with it keep their accounts but need a " +
    "password to sign in (send them a password reset link).", "Turn off single sign-on")) return;
  await api("/api/v1/sso", { method: "DELETE" });
  toast("Single sign-on is off.");
  await Promise.all([renderSso(), renderAudit()]);
}

function wireAccess() {
  $("sign-out-everywhere").addEventListener("click", () => signOutEverywhere().catch((error) => toast(error.message)));
  $("totp-start").addEventListener("click", () => startTotp().catch((error) => toast(error.message)));
  $("totp-copy").addEventListener("click", () => copyText(accessState.recovery || ""));
  onSubmit("totp-setup", "totp-error", confirmTotp);
  onSubmit("totp-off", "totp-off-error", disableTotp);
  onSubmit("invite-form", "iv-error", invite);
  onSubmit("key-form", "key-error", createKey);
  onSubmit("sso-form", "sso-error", saveSso);
  $("sso-delete").addEventListener("click", () => deleteSso().catch((error) => { $("sso-error").textContent = error.message; }));
  $("au-filter").addEventListener("input", renderAuditRows);
  $("au-since").addEventListener("change", () => renderAudit().catch((error) => toast(error.message)));
  onSubmit("au-search", "au-error", () => renderAudit());
  $("au-more").addEventListener("click", () => renderAudit(true).catch((error) => { $("au-error").textContent = error.message; }));
  $("org-switch").addEventListener("change", switchOrganization);
  $("au-export").addEventListener("click", () => exportAudit().catch((error) => toast(error.message)));
}
