// "Show number" on the callbacks page: fetched for the counselor holding the callback (the server
// checks and logs it), shown for a minute, then removed from the page again.
"use strict";

(function () {
  const SHOWN_MS = 60000;

  for (const form of document.querySelectorAll("form.reveal-form")) {
    const output = form.querySelector("output.number");
    const hide = form.querySelector("button.hide-number");
    let timer = null;

    function hideNumber() {
      output.textContent = "";
      hide.hidden = true;
      clearTimeout(timer);
    }

    hide.addEventListener("click", hideNumber);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      hideNumber();
      try {
        const response = await fetch(form.action, {
          method: "POST",
          credentials: "same-origin",
          headers: { "x-csrf-token": form.dataset.csrf },
          body: new URLSearchParams(new FormData(form)),
        });
        const body = await response.json();
        if (!response.ok) throw new Error(body.error);
        const link = document.createElement("a");
        link.href = "tel:" + body.tel;
        link.textContent = body.number;
        output.replaceChildren(link);
        hide.hidden = false;
        timer = setTimeout(hideNumber, SHOWN_MS);
      } catch (e) {
        output.textContent = form.dataset.error;
      }
    });
  }
})();
