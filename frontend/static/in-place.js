// No history entries: links within the service and the language switch replace the page in place.
"use strict";

(function () {
  // Links marked data-replace (to / and /safety) take the place of this page in the history.
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-replace]");
    if (!link || event.defaultPrevented || event.button !== 0) return;
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return; // a new tab
    event.preventDefault();
    location.replace(link.href);
  });

  // The language and text-size forms still work without JavaScript (POST, then 303): this only
  // keeps their redirect out of the history.
  for (const form of document.querySelectorAll("form.languages, form.text-size")) {
    form.addEventListener("submit", (event) => submitInPlace(form, event));
  }

  async function submitInPlace(form, event) {
    event.preventDefault();
    const choice = document.createElement("input"); // the pressed button's name and value
    choice.type = "hidden";
    choice.name = event.submitter ? event.submitter.name : "lang";
    choice.value = event.submitter ? event.submitter.value : "";
    form.append(choice);
    const body = new URLSearchParams(new FormData(form));
    try {
      await fetch(form.action, { method: "POST", body, credentials: "same-origin", redirect: "manual" });
      location.replace(body.get("next") || "/");
    } catch (e) {
      form.submit(); // the network failed: the ordinary way, which at worst adds one entry
    }
  }
})();
