// The "discreet tab" setting: a neutral tab title and icon, remembered only in this tab.
"use strict";

(function () {
  const KEY = "nx-discreet"; // sessionStorage: gone with the tab, and on a quick exit
  const button = document.getElementById("discreet");
  if (!button) return;
  const own = { title: document.title, icon: document.querySelector('link[rel="icon"]').href };

  function setIcon(href) {
    // A new element: browsers do not all notice a changed href on the old one.
    const old = document.querySelector('link[rel="icon"]');
    const icon = document.createElement("link");
    icon.rel = "icon";
    icon.type = "image/svg+xml";
    icon.href = href;
    old.replaceWith(icon);
  }

  function apply(on) {
    document.title = on ? button.dataset.title : own.title;
    setIcon(on ? button.dataset.icon : own.icon);
    button.setAttribute("aria-pressed", on ? "true" : "false");
  }

  button.hidden = false;
  button.addEventListener("click", () => {
    const on = button.getAttribute("aria-pressed") !== "true";
    try {
      if (on) sessionStorage.setItem(KEY, "1");
      else sessionStorage.removeItem(KEY);
    } catch (e) { /* not remembered: still applied to this page */ }
    apply(on);
  });
  let remembered = false;
  try { remembered = sessionStorage.getItem(KEY) === "1"; } catch (e) { /* storage off */ }
  if (remembered) apply(true);
})();
