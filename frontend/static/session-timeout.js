// Warns a staff member before their session ends for lack of use, offers to stay signed in,
// and goes to the login page once the session is gone. The server decides: this only asks it.
(() => {
  "use strict";
  const dialog = document.getElementById("session-timeout");
  const logout = document.querySelector('form[action="/staff/logout"] input[name="csrf"]');
  if (!dialog || !logout) return;
  let warnSeconds = 120; // at most half the idle time, for short idle times (tests, kiosks)
  const RETRY_MS = 15000;
  const countdown = dialog.querySelector(".seconds-left");
  let timer = null;

  function gone() {
    window.location.assign("/staff");
  }

  function show(seconds) {
    countdown.textContent = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
    if (!dialog.open) dialog.showModal();
    timer = seconds > 0 ? setTimeout(() => show(seconds - 1), 1000) : setTimeout(check, 0);
  }

  function schedule(seconds) {
    clearTimeout(timer);
    if (seconds <= 0) {
      timer = setTimeout(check, 1000); // only the server's "no session" leaves the page
    } else if (seconds > warnSeconds) {
      if (dialog.open) dialog.close();
      timer = setTimeout(check, (seconds - warnSeconds) * 1000);
    } else {
      show(seconds);
    }
  }

  async function ask(request) {
    try {
      const response = await request;
      if (response.status === 401) return gone();
      if (!response.ok) throw new Error(String(response.status));
      const session = await response.json();
      warnSeconds = Math.min(120, Math.floor(session.idle_seconds / 2));
      schedule(session.seconds_left);
    } catch {
      clearTimeout(timer);
      timer = setTimeout(check, RETRY_MS); // offline for a moment: ask again soon
    }
  }

  function check() {
    ask(fetch("/staff/session", { headers: { Accept: "application/json" }, credentials: "same-origin" }));
  }

  dialog.querySelector(".stay").addEventListener("click", () => {
    ask(fetch("/staff/session/keepalive", {
      method: "POST",
      headers: { Accept: "application/json", "X-CSRF-Token": logout.value },
      credentials: "same-origin",
    }));
  });
  dialog.addEventListener("cancel", (event) => event.preventDefault()); // Escape is not an answer
  check();
})();
