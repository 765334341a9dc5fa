// The safety text in place on the chat page: read it while waiting or chatting without leaving.
"use strict";

(function () {
  const view = document.getElementById("safety");
  const views = ["intro", "chat"].map((id) => document.getElementById(id));
  const closers = view.querySelectorAll(".safety-close");
  let hiddenView = null; // the view the safety text stands in for
  let opener = null;

  function open(event) {
    event.preventDefault(); // without JavaScript the link opens /safety instead
    if (!view.hidden) return;
    opener = event.currentTarget;
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
