// Quick exit: the exit link, or Shift pressed on its own three times, hides the page and leaves for good.
"use strict";

(function () {
  const PRESSES = 3; // the convention of GOV.UK's "Exit this page": Shift on its own, three times
  const WITHIN_MS = 5000; // each press within this long of the last one
  const link = document.getElementById("quick-exit");
  const status = document.getElementById("quick-exit-status");
  const neutral = link.dataset.neutral;
  let presses = 0;
  let lastPress = 0;
  let expire = null;
  let leaving = false;

  function announce(text) {
    status.textContent = text || "";
  }

  // Hide everything at once, tell the server without waiting, forget everything, and go.
  // `location.replace` takes the place of this page in the history: Back cannot return here.
  function leave(event) {
    if (event) event.preventDefault();
    if (leaving) return;
    leaving = true;
    document.body.hidden = true;
    performance.mark("quick-exit:hidden"); // read by loadtests/bench_quick_exit.py
    try {
      // Sent even without a chat: its answer's Clear-Site-Data also removes the cookies and
      // cached files of this site, which a script cannot reach.
      navigator.sendBeacon("/api/leave", sessionStorage.getItem(link.dataset.chatKey) || "");
    } catch (e) { /* storage or beacon refused: leave all the same */ }
    try { sessionStorage.clear(); } catch (e) { /* nothing kept */ }
    try { localStorage.clear(); } catch (e) { /* nothing kept */ }
    performance.mark("quick-exit:navigating");
    location.replace(neutral);
  }

  function reset() {
    presses = 0;
    clearTimeout(expire);
    announce("");
  }

  function onKeyDown(event) {
    const shiftAlone = event.key === "Shift" && !event.ctrlKey && !event.altKey && !event.metaKey;
    if (!shiftAlone) return reset(); // any other key, or Shift as part of a combination
    if (event.repeat) return undefined; // holding Shift down is one press
    const now = performance.now();
    presses = now - lastPress <= WITHIN_MS ? presses + 1 : 1;
    lastPress = now;
    clearTimeout(expire);
    if (presses >= PRESSES) return leave();
    announce(presses === 1 ? status.dataset.twoMore : status.dataset.oneMore);
    expire = setTimeout(reset, WITHIN_MS);
    return undefined;
  }

  link.addEventListener("click", leave);
  // Capture: a handler further down that stops the event cannot hide a press from the count.
  window.addEventListener("keydown", onKeyDown, true);
  // A page brought back from the back/forward cache is never shown again: wipe it and go.
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return;
    document.body.hidden = true;
    location.replace(neutral);
  });
})();
