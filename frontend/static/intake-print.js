// The print button of an opened intake (the page's print style leaves out the menu and buttons).
(() => {
  "use strict";
  const button = document.getElementById("intake-print");
  if (button) button.addEventListener("click", () => window.print());
})();
