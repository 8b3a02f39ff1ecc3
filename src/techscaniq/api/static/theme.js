// The colour theme before the page paints (no flash): the system's preference, or the one chosen with the
// toggle (system → dark → light), remembered in localStorage.
"use strict";
(function () {
  const KEY = "techscaniq.theme", ORDER = ["system", "dark", "light"];
  const apply = (theme) => {
    if (theme === "system") delete document.documentElement.dataset.theme; else document.documentElement.dataset.theme = theme;
    const button = document.getElementById("theme-toggle");
    if (button) {
      button.textContent = `Theme: ${theme}`;
      button.setAttribute("aria-label", `Colour theme: ${theme} (change)`);
    }
  };
  let theme = localStorage.getItem(KEY) || "system";
  apply(theme);
  document.addEventListener("DOMContentLoaded", () => {
    apply(theme);
    document.getElementById("theme-toggle").addEventListener("click", () => {
      theme = ORDER[(ORDER.indexOf(theme) + 1) % ORDER.length];
      localStorage.setItem(KEY, theme);
      apply(theme);
    });
  });
})();
