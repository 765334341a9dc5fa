// Print buttons (an opened intake, the committee's report): the page's print style leaves out the menu
// and the buttons.
(() => {
  "use strict";
  for (const button of document.querySelectorAll("button[data-print]")) {
    button.addEventListener("click", () => window.print());
  }
})();
