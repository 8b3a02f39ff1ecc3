// Sign-in and first-run setup pages. The session is an HttpOnly cookie set by the API: nothing secret is kept
// in the page's storage, and the setup token comes from the link's #fragment (never sent to any server).
"use strict";

const $ = (id) => document.getElementById(id);

async function post(path, body) {
  const response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json",
    Accept: "application/json" }, body: JSON.stringify(body), credentials: "same-origin" });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = Array.isArray(answer.detail)
      ? answer.detail.map((d) => `${d.field || "request"}: ${d.message}`).join("; ") : answer.detail || response.statusText;
    throw new Error(detail);
  }
  return answer;
}

function wire(formId, errorId, submit) {
  const form = $(formId);
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    $(errorId).textContent = "";
    const button = form.querySelector("button");
    button.disabled = true;
    try { await submit(); location.replace("/"); }
    catch (error) { $(errorId).textContent = error.message; }
    finally { button.disabled = false; }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  wire("login-form", "login-error", () => post("/api/v1/session", { email: $("email").value.trim(),
    password: $("password").value, code: $("code") && $("code").value.trim() ? $("code").value.trim() : null })
    .catch((error) => {  // an account with TOTP: ask for the code, then sign in again
      if (error.message.startsWith("code:") && !$("code")) {
        const label = Object.assign(document.createElement("label"), { htmlFor: "code",
          textContent: "Code from your authenticator app (or a recovery code)" });
        const input = Object.assign(document.createElement("input"), { id: "code", autocomplete: "one-time-code" });
        $("login-error").before(label, input);
      }
      throw error;
    }));
  const fragment = new URLSearchParams(location.hash.slice(1));
  if ($("login-error") && fragment.get("error")) $("login-error").textContent = fragment.get("error");
  const token = fragment.get("token");
  if ($("accept-form")) {
    const invite = fragment.get("invite"), reset = fragment.get("reset");
    history.replaceState(null, "", location.pathname);
    if (reset) $("accept-hint").textContent = "Set a new password for your account.";
    wire("accept-form", "accept-error", () => reset
      ? post("/api/v1/password-reset/complete", { token: reset, password: $("password").value })
        .then(() => location.replace("/static/login.html"))
      : post("/api/v1/invitations/accept", { token: invite, password: $("password").value }));
  }
  if ($("setup-form")) {
    history.replaceState(null, "", location.pathname);  // the token leaves the address bar and the history
    if (!token) $("setup-error").textContent = "This page needs the setup link printed when the server started.";
  }
  wire("setup-form", "setup-error", () => post("/api/v1/setup", { token, organization_name: $("organization").value.trim(),
    email: $("email").value.trim(), password: $("password").value }));
});
