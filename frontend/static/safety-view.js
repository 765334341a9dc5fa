// The safety text in place on the chat page: read it while waiting or chatting without leaving.
"use strict";

(function () {
  const view = document.getElementById("safety");
  const views = ["intro", "chat"].map((id) => document.getElementById(id));
  const closers = view.querySelectorAll(".safety-close");
  let hiddenView = null; // the view the safety text stands in for
  let opener = null;

  // The text comes from /safety itself (same language, one source), once, when first wanted.
  async function load() {
    const text = view.querySelector(".safety-text");
    if (text.childElementCount) return;
    const response = await fetch("/safety", { credentials: "same-origin" });
    if (!response.ok) throw new Error("safety text");
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const main = page.querySelector("main");
    main.querySelector(".back-link").closest("p").remove(); // the way back here is the Back button
    text.replaceChildren(...Array.from(main.childNodes, (node) => document.importNode(node, true)));
    view.setAttribute("aria-labelledby", "safety-title");
  }

  async function open(event) {
    event.preventDefault(); // without JavaScript the link opens /safety instead
    if (!view.hidden) return;
    const link = event.currentTarget;
    try {
      await load();
    } catch (e) {
      location.assign(link.href); // offline or refused: the page itself (a chat resumes on return)
      return;
    }
    opener = link;
    hiddenView = views.find((v) => !v.hidden) || views[0];
    hiddenView.hidden = true;
    view.hidden = false;
    const title = document.getElementById("safety-title");
    title.tabIndex = -1;
    title.focus();
    window.scrollTo(0, 0);
  }

  function close() {
    for (const button of closers) button.textContent = button.dataset.plain;
    view.hidden = true;
    hiddenView.hidden = false;
    if (opener && opener.offsetParent !== null) opener.focus();
  }

  for (const link of document.querySelectorAll('a[href="/safety"]')) link.addEventListener("click", open);
  for (const button of closers) {
    button.dataset.plain = button.textContent;
    button.addEventListener("click", close);
  }
  // A message that arrives while the visitor reads is not missed: the way back says so.
  new MutationObserver(() => {
    if (view.hidden || hiddenView !== views[1]) return;
    for (const button of closers) button.textContent = view.dataset.news;
  }).observe(document.getElementById("log"), { childList: true });
})();
