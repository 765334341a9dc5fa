// The counselor's console: the live queue, taking chats, several chats at once, letters,
// unread counts with a sound, canned responses, private notes, handing over, own status, classification,
// proposing an intake (the visitor alone answers it) and sharing help after "no thanks".
"use strict";

(function () {
  const BACKOFF_MS = [250, 500, 1000, 2000, 4000, 8000];
  const TYPING_EVERY_MS = 3000;
  const TYPING_SHOWN_MS = 5000;
  const LETTERS_REDRAW_MS = 60000; // waiting times in the letters list move on between updates

  const strings = JSON.parse(document.getElementById("strings").textContent);
  const $ = (id) => document.getElementById(id);
  const fill = (text, values) =>
    text.replace(/\{(\w+)\}/g, (_, key) => (key in values ? String(values[key]) : ""));

  const chats = new Map(); // conv -> chat
  const takenLang = new Map(); // conv -> the visitor's language, for chats being taken
  let socket = null;
  let attempt = 0;
  let unavailable = false; // the service said its storage is away (1013) and has not answered since
  let selected = null;
  let counter = 0;
  let letterCounter = 0;
  let letters = { items: [], at: 0 }; // the last letters frame, and when it came
  let colleagues = []; // on duty, to hand a chat to: [{username, name}]
  let canned = []; // [{id, lang, title, text}]
  let confirmedStatus = $("my-status").value; // the last status the service said it has for me
  let noticeTimer = null;
  const baseTitle = document.title;
  const MUTE_KEY = "nexus-console-muted";

  function compareIds(a, b) {
    const [am, as] = a.split("-").map(Number);
    const [bm, bs] = b.split("-").map(Number);
    return am === bm ? as - bs : am - bm;
  }

  function newClientId() {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function connected() {
    return socket !== null && socket.readyState === WebSocket.OPEN;
  }

  // For what may be lost without harm (typing, seen) or is kept until confirmed (msg: entry.pending).
  function send(frame) {
    if (connected()) socket.send(JSON.stringify(frame));
  }

  // A counselor's action (end, note, take…): unlike a chat message it is not kept to be sent again on
  // reconnect, so while the socket is away it must not vanish without a word. Returns whether it went;
  // when not, the caller keeps what was typed and leaves its button usable, so that trying again is one press.
  function act(frame) {
    if (connected()) {
      send(frame);
      return true;
    }
    notice(strings.not_connected);
    return false;
  }

  // Chats --------------------------------------------------------------------------------
  // kind: "chat" (taken from the queue) or "letter" (opened from the letters list).
  function chat(conv, kind, lang) {
    if (chats.has(conv)) {
      if (lang) chats.get(conv).lang = lang;
      return chats.get(conv);
    }
    const letter = kind === "letter";
    const title = letter ? fill(strings.letter, { n: (letterCounter += 1) })
      : fill(strings.chat, { n: (counter += 1) });
    const pane = $("pane-template").content.firstElementChild.cloneNode(true);
    pane.dataset.conv = conv;
    pane.hidden = true;
    const tab = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "tab";
    button.dataset.conv = conv;
    button.addEventListener("click", () => select(conv));
    tab.appendChild(button);
    $("chats").appendChild(tab);
    $("panes").appendChild(pane);
    const entry = {
      conv, pane, button, tab, label: title, letter, unread: 0, lang: lang || "sv",
      lastId: "0-0", pending: new Map(), mine: new Map(), delivered: "0-0", ended: false,
      lastTypingSent: 0, typingTimer: null,
    };
    pane.querySelector(".letter-note").hidden = !letter;
    pane.querySelector(".close-letter").hidden = !letter;
    pane.querySelector(".close-letter").addEventListener("click", () => act({ type: "close_letter", conv }));
    pane.querySelector("form").addEventListener("submit", (event) => submit(event, entry));
    const box = pane.querySelector("textarea");
    box.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) submit(event, entry);
    });
    box.addEventListener("input", () => {
      const now = Date.now();
      if (box.value.trim() && now - entry.lastTypingSent > TYPING_EVERY_MS) {
        entry.lastTypingSent = now;
        send({ type: "typing", conv });
      }
    });
    pane.querySelector(".end-chat").addEventListener("click", () => act({ type: "end", conv }));
    pane.querySelector(".block-chat").hidden = letter;
    pane.querySelector(".block-chat").addEventListener("click", () => {
      if (window.confirm(strings.block_confirm)) act({ type: "block", conv });
    });
    pane.querySelector(".handover").hidden = letter;
    pane.querySelector(".notes").hidden = letter;
    pane.querySelector(".intake").hidden = letter;
    wireExtras(entry);
    chats.set(conv, entry);
    label(entry);
    if (!selected) select(conv);
    return entry;
  }

  function removeChat(conv) {
    const entry = chats.get(conv);
    if (!entry) return;
    chats.delete(conv);
    entry.pane.remove();
    entry.tab.remove();
    showUnreadInTitle();
    if (selected === conv) {
      selected = null;
      const next = chats.keys().next();
      if (!next.done) select(next.value);
    }
  }

  function reopen(entry) {
    // A chat that ended and came back (a returning visitor): writable again.
    entry.ended = false;
    entry.pane.querySelector("form").hidden = false;
    entry.pane.querySelector(".end-chat").hidden = false;
    entry.pane.querySelector(".block-chat").hidden = false;
  }

  function label(entry) {
    entry.button.textContent = entry.label + " · " + entry.lang.toUpperCase(); // the visitor's language
    if (entry.unread) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = String(entry.unread);
      entry.button.append(" ", badge);
    }
    entry.button.classList.toggle("unread", entry.unread > 0);
    showUnreadInTitle();
  }

  function showUnreadInTitle() {
    let total = 0;
    for (const entry of chats.values()) total += entry.unread;
    document.title = (total ? "(" + total + ") " : "") + baseTitle;
  }

  // The audible notice: a short two-tone chime made with the Web Audio API (no sound file).
  let audio = null;
  function muted() { return localStorage.getItem(MUTE_KEY) === "1"; }
  function showMute() {
    const button = $("mute");
    button.textContent = muted() ? strings.sound_off : strings.sound_on;
    button.setAttribute("aria-pressed", muted() ? "true" : "false");
  }
  function unlockAudio() { // browsers start sound only after the person has interacted
    if (!audio && window.AudioContext) audio = new AudioContext();
    if (audio && audio.state === "suspended") audio.resume();
  }
  function chime() {
    if (muted() || !audio) return;
    const now = audio.currentTime;
    [660, 880].forEach((frequency, index) => {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, now + index * 0.15);
      gain.gain.exponentialRampToValueAtTime(0.2, now + index * 0.15 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + index * 0.15 + 0.3);
      tone.connect(gain).connect(audio.destination);
      tone.start(now + index * 0.15);
      tone.stop(now + index * 0.15 + 0.35);
    });
  }

  // Canned responses, notes, handing over, classification -------------------------------
  function fillCanned(entry) {
    const select = entry.pane.querySelector("select.canned");
    select.replaceChildren(select.options[0]);
    // The chat's own language first.
    const ordered = canned.filter((c) => c.lang === entry.lang).concat(canned.filter((c) => c.lang !== entry.lang));
    for (const item of ordered) {
      const option = document.createElement("option");
      option.value = item.id;
      option.textContent = item.lang.toUpperCase() + " · " + item.title;
      select.appendChild(option);
    }
  }

  function loadCanned() {
    return fetch("/staff/canned.json", { credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : { items: [] }))
      .then((data) => { canned = data.items; for (const entry of chats.values()) fillCanned(entry); })
      .catch(() => {});
  }

  function fillColleagues(entry) {
    const select = entry.pane.querySelector("select.handover-to");
    const chosen = select.value;
    select.replaceChildren(select.options[0]);
    for (const colleague of colleagues) {
      const option = document.createElement("option");
      option.value = colleague.username;
      option.textContent = colleague.name;
      select.appendChild(option);
    }
    select.value = colleagues.some((c) => c.username === chosen) ? chosen : "";
  }

  function wireExtras(entry) {
    const pane = entry.pane;
    const conv = entry.conv;
    const box = pane.querySelector("form.composer textarea");
    const picker = pane.querySelector("select.canned");
    picker.addEventListener("focus", loadCanned); // supervisors may have changed them
    picker.addEventListener("change", () => {
      const item = canned.find((c) => c.id === picker.value);
      picker.value = "";
      if (!item) return;
      // Inserted, not sent: the counselor edits it first.
      box.value = box.value.trim() ? box.value.replace(/\s+$/, "") + "\n" + item.text : item.text;
      box.focus();
    });
    fillCanned(entry);
    fillColleagues(entry);
    pane.querySelector("form.handover").addEventListener("submit", (event) => {
      event.preventDefault();
      const to = pane.querySelector("select.handover-to").value;
      const text = pane.querySelector("input.handover-note").value.trim();
      act(to ? { type: "transfer", conv, to, text } : { type: "requeue", conv, text });
    });
    const noteForm = pane.querySelector("form.note-form");
    noteForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const noteBox = noteForm.querySelector("textarea");
      const text = noteBox.value.trim();
      if (!text) return;
      if (act({ type: "note", conv, text })) noteBox.value = ""; // not sent: keep it to try again
    });
    const intake = pane.querySelector("form.intake-form");
    intake.addEventListener("submit", (event) => {
      event.preventDefault();
      const value = (name) => intake.querySelector(name).value.trim();
      act({ type: "propose_intake", conv, kind: value(".intake-kind"), kind_text: value(".intake-kind-text"),
        note: value(".intake-note"), summary: value(".intake-summary"), risk_notes: value(".intake-risk") });
    });
    pane.querySelector(".share-resources").addEventListener("click", (event) => {
      // One tap: the help text in the visitor's language, sent as a message.
      const text = event.target.dataset.text;
      if (!text || entry.ended) return;
      event.target.hidden = true;
      const clientId = newClientId();
      entry.pending.set(clientId, { text, item: addItem(entry, "mine", text, strings.you) });
      send({ type: "msg", conv, text, client_id: clientId });
    });
    const classify = pane.querySelector("form.classify");
    classify.addEventListener("submit", (event) => {
      event.preventDefault();
      const answers = {};
      for (const fieldset of classify.querySelectorAll("fieldset[data-question]")) {
        answers[fieldset.dataset.question] = Array.from(fieldset.querySelectorAll("input:checked"), (i) => i.value);
      }
      // Disabled until the service answers (onClassified); left usable when it could not be sent.
      classify.querySelector("button[type=submit]").disabled = act({ type: "classify", conv, answers });
    });
  }

  function labelNames(labels) {
    return labels.map((label) => strings.labels[label] || label).join(", ");
  }

  function onNote(frame) {
    const entry = chats.get(frame.conv);
    if (!entry) return;
    const item = document.createElement("li");
    item.className = "note note-" + frame.kind;
    const who = document.createElement("span");
    who.className = "who";
    // Screening's notes (risk, abuse) carry labels and counts, worded here in the counselor's language.
    who.textContent = frame.kind === "transfer" ? fill(strings.note_transfer, { name: frame.name, to: frame.to })
      : frame.kind === "requeue" ? fill(strings.note_requeue, { name: frame.name })
      : frame.kind === "risk" ? fill(strings.note_risk, { labels: labelNames(frame.name.split(",")) })
      : frame.kind === "abuse" ? fill(strings.note_abuse, { count: frame.text }) : frame.name;
    item.appendChild(who);
    if (frame.text && frame.kind !== "abuse") {
      const body = document.createElement("p");
      body.className = "text";
      body.textContent = frame.text;
      item.appendChild(body);
    }
    entry.pane.querySelector(".note-list").appendChild(item);
  }

  function onProposal(frame) {
    const entry = chats.get(frame.conv);
    if (!entry) return;
    const status = entry.pane.querySelector(".intake-status");
    status.textContent = strings["intake_" + frame.status] || "";
    status.hidden = !status.textContent;
    entry.pane.querySelector("form.intake-form").hidden = frame.status === "open" || frame.status === "consented";
    const share = entry.pane.querySelector(".share-resources");
    share.dataset.text = frame.resources || "";
    share.hidden = !frame.resources;
  }

  function onClassified(frame, saved) {
    const entry = chats.get(frame.conv);
    if (!entry) return;
    const form = entry.pane.querySelector("form.classify");
    if (saved || frame.reason === "done") {
      form.hidden = true;
      entry.pane.querySelector(".classified").hidden = !saved;
    } else {
      form.querySelector("button[type=submit]").disabled = false;
      notice(strings.classify_failed);
    }
  }

  function select(conv) {
    selected = conv;
    for (const entry of chats.values()) {
      const on = entry.conv === conv;
      entry.pane.hidden = !on;
      entry.button.setAttribute("aria-pressed", on ? "true" : "false");
      if (on) { entry.unread = 0; label(entry); }
    }
  }

  function addItem(entry, kind, text, who) {
    const item = document.createElement("li");
    item.className = "entry entry-" + kind;
    if (who) {
      const span = document.createElement("span");
      span.className = "who";
      span.textContent = who;
      item.appendChild(span);
    }
    const body = document.createElement("p");
    body.className = "text";
    body.textContent = text;
    item.appendChild(body);
    entry.pane.querySelector(".log").appendChild(item);
    item.scrollIntoView({ block: "end" });
    return item;
  }

  function tick(item, text) {
    let span = item.querySelector(".tick");
    if (!span) {
      span = document.createElement("span");
      span.className = "tick";
      item.appendChild(span);
    }
    span.textContent = text;
  }

  function submit(event, entry) {
    event.preventDefault();
    const box = entry.pane.querySelector("textarea");
    const text = box.value.trim();
    if (!text || entry.ended) return;
    const clientId = newClientId();
    const item = addItem(entry, "mine", text, strings.you);
    entry.pending.set(clientId, { text, item });
    box.value = "";
    send({ type: "msg", conv: entry.conv, text, client_id: clientId });
  }

  function onEntry(frame) {
    const entry = chat(frame.conv);
    if (compareIds(frame.id, entry.lastId) <= 0) return;
    entry.lastId = frame.id;
    if (frame.kind === "msg" && frame.from === "counselor") {
      const pending = entry.pending.get(frame.client_id);
      entry.pending.delete(frame.client_id);
      const item = pending ? pending.item : addItem(entry, "mine", frame.text, strings.you);
      tick(item, compareIds(frame.id, entry.delivered) <= 0 ? strings.delivered : strings.sent);
      entry.mine.set(frame.id, item);
    } else if (frame.kind === "msg") {
      addItem(entry, "theirs", frame.text, strings.visitor);
      entry.pane.querySelector(".typing").hidden = true;
      send({ type: "seen", conv: frame.conv, id: frame.id });
      if (selected !== frame.conv || document.hidden) {
        entry.unread += 1;
        label(entry);
        if (Date.now() - frame.ts < 60000) chime(); // not for history caught up after a reconnect
      }
    } else if (frame.kind === "join") {
      reopen(entry);
      addItem(entry, "event", frame.name && frame.name !== $("me").textContent
        ? fill(strings.joined_name, { name: frame.name }) : strings.joined);
    } else if (frame.kind === "returned") {
      reopen(entry);
      addItem(entry, "event", strings.returned);
    } else if (frame.kind === "end") {
      entry.ended = true;
      const ended = frame.reason === "idle" ? strings.ended_idle // nobody was connected
        : frame.from !== "visitor" ? strings.ended_you
          : frame.reason === "left" ? strings.ended_left : strings.ended_visitor; // left: quick exit
      addItem(entry, "event", ended);
      entry.pane.querySelector("form").hidden = true;
      entry.pane.querySelector(".end-chat").hidden = true;
      entry.pane.querySelector(".block-chat").hidden = true;
      entry.pane.querySelector("form.handover").hidden = true;
      // The end-of-chat classification, for a chat (not a letter) that ended while this console had it.
      const classify = entry.pane.querySelector("form.classify");
      classify.hidden = entry.letter || !entry.pane.querySelector(".classified").hidden;
    }
  }

  function onDelivered(frame) {
    const entry = chat(frame.conv);
    if (compareIds(frame.id, entry.delivered) > 0) entry.delivered = frame.id;
    for (const [id, item] of entry.mine) {
      if (compareIds(id, entry.delivered) <= 0) { tick(item, strings.delivered); entry.mine.delete(id); }
    }
  }

  // The queue ----------------------------------------------------------------------------
  function renderQueue(items) {
    const list = $("queue");
    list.replaceChildren();
    for (const item of items) {
      const row = document.createElement("li");
      const text = document.createElement("span");
      const minutes = Math.floor(item.waiting_seconds / 60);
      text.textContent = item.lang.toUpperCase() + " · " + fill(strings.waiting, { minutes });
      if (item.risk && item.risk.length) { // labels set by screening, with the words behind them
        const risk = document.createElement("strong");
        risk.className = "risk";
        risk.textContent = " · " + fill(strings.risk, { labels: labelNames(item.risk) });
        text.appendChild(risk);
        if (item.evidence && item.evidence.length) {
          const evidence = document.createElement("span");
          evidence.className = "evidence";
          evidence.textContent = " " + item.evidence.map((words) => "“" + words + "”").join(" · ");
          text.appendChild(evidence);
        }
        row.classList.add("at-risk");
      }
      if (item.returning) {
        // Offered first to the counselor the visitor had; anyone may still take it.
        const mark = document.createElement(item.for_you ? "strong" : "span");
        mark.textContent = " · " + (item.for_you ? strings.for_you
          : item.for_name ? fill(strings.for_name, { name: item.for_name }) : strings.returning);
        text.appendChild(mark);
        row.classList.add(item.for_you ? "for-you" : "returning");
      }
      const take = document.createElement("button");
      take.type = "button";
      take.className = "primary take";
      take.textContent = strings.take;
      take.addEventListener("click", () => {
        takenLang.set(item.conv, item.lang);
        take.disabled = act({ type: "take", conv: item.conv }); // usable again when it could not be sent
      });
      row.append(text, take);
      list.appendChild(row);
    }
    $("queue-count").textContent = String(items.length);
    $("queue-empty").hidden = items.length > 0;
  }

  // Letters: messages left when nobody could answer -------------------------------------
  function duration(seconds) {
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return fill(strings.minutes, { n: minutes });
    if (minutes < 48 * 60) return fill(strings.hours, { n: Math.floor(minutes / 60) });
    return fill(strings.days, { n: Math.floor(minutes / (24 * 60)) });
  }

  function renderLetters() {
    const list = $("letters");
    list.replaceChildren();
    const passed = Math.floor((Date.now() - letters.at) / 1000);
    for (const item of letters.items) {
      const row = document.createElement("li");
      const text = document.createElement("span");
      const parts = [item.lang.toUpperCase()];
      if (item.replied) parts.push(item.counselor ? fill(strings.letter_by, { name: item.counselor }) : strings.letter_replied);
      else parts.push(fill(strings.letter_waiting, { time: duration(item.waiting_seconds + passed) }));
      if (!item.replied && item.counselor) parts.push(fill(strings.letter_by, { name: item.counselor }));
      if (item.opened_by) parts.push(fill(strings.letter_open_by, { name: item.opened_by }));
      text.textContent = parts.join(" · ");
      const open = document.createElement("button");
      open.type = "button";
      open.className = item.replied ? "secondary" : "primary";
      open.textContent = strings.open;
      open.addEventListener("click", () => {
        if (chats.has(item.conv)) { select(item.conv); return; }
        open.disabled = act({ type: "open_letter", conv: item.conv }); // usable again when it could not be sent
      });
      row.append(text, open);
      list.appendChild(row);
    }
    $("letters-count").textContent = String(letters.items.filter((i) => !i.replied).length);
    $("letters-empty").hidden = letters.items.length > 0;
  }

  function notice(text) {
    const element = $("notice");
    element.textContent = text;
    element.hidden = false;
    // A newer notice gets its own four seconds: an older one's timer must not hide it early.
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => { element.hidden = true; }, 4000);
  }

  function onFrame(frame) {
    switch (frame.type) {
      case "queue": return renderQueue(frame.items);
      case "chats": for (const item of frame.items) chat(item.conv, "chat", item.lang); return undefined;
      case "taken": chat(frame.conv, "chat", takenLang.get(frame.conv)); return select(frame.conv);
      case "transferred_in": {
        chat(frame.conv, "chat", frame.lang);
        chime();
        return frame.from ? notice(fill(strings.transferred_in, { name: frame.from })) : undefined;
      }
      case "transferred": removeChat(frame.conv); return notice(fill(strings.transferred, { name: frame.to }));
      case "requeued": removeChat(frame.conv); return notice(strings.requeued);
      case "transfer_failed": return notice(strings.transfer_failed);
      case "note": return onNote(frame);
      case "proposal": return onProposal(frame);
      case "propose_failed": return notice(strings.propose_failed);
      case "classified": return onClassified(frame, true);
      case "classify_failed": return onClassified(frame, false);
      case "status": confirmedStatus = frame.status; $("my-status").value = frame.status; return undefined;
      case "colleagues": {
        colleagues = frame.items;
        for (const entry of chats.values()) fillColleagues(entry);
        return undefined;
      }
      case "take_failed": return notice(strings.take_failed);
      case "letters": letters = { items: frame.items, at: Date.now() }; return renderLetters();
      case "letter_opened": { // also when the console reconnects: then stay where the counselor is
        const shown = chats.has(frame.conv);
        chat(frame.conv, "letter");
        return shown ? undefined : select(frame.conv);
      }
      case "letter_closed": return removeChat(frame.conv);
      case "letter_failed": {
        renderLetters(); // enables its button again
        return notice(frame.reason === "held" ? fill(strings.letter_held, { name: frame.by || "" })
          : strings.letter_gone);
      }
      case "entry": return onEntry(frame);
      case "delivered": return onDelivered(frame);
      case "typing": {
        const entry = chat(frame.conv);
        const element = entry.pane.querySelector(".typing");
        element.textContent = strings.typing;
        element.hidden = false;
        clearTimeout(entry.typingTimer);
        entry.typingTimer = setTimeout(() => { element.hidden = true; }, TYPING_SHOWN_MS);
        return undefined;
      }
      case "lang": { // the visitor switched language: the tab and the canned responses follow
        const entry = chats.get(frame.conv);
        if (entry) { entry.lang = frame.lang; label(entry); }
        return undefined;
      }
      case "error": return notice(frame.message || frame.code);
      default: return undefined;
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(scheme + location.host + "/staff/ws");
    socket = ws;
    let answered = false; // the service took this hello: only then is the interruption over
    ws.onopen = () => {
      const known = {};
      for (const entry of chats.values()) if (!entry.ended) known[entry.conv] = entry.lastId;
      ws.send(JSON.stringify({ type: "hello", chats: known }));
      for (const entry of chats.values()) {
        for (const [clientId, p] of entry.pending) {
          send({ type: "msg", conv: entry.conv, text: p.text, client_id: clientId });
        }
      }
    };
    ws.onmessage = (event) => {
      if (!answered) {
        answered = true;
        attempt = 0;
        unavailable = false;
        $("connection").textContent = "";
      }
      try { onFrame(JSON.parse(event.data)); } catch (e) { /* ignore a frame we cannot read */ }
    };
    ws.onclose = (event) => {
      if (socket !== ws) return;
      socket = null;
      if (event.code === 4401) { location.reload(); return; } // the session is gone: log in again
      if (event.code === 1013) unavailable = true; // Redis restarting or failing over: keep trying
      $("connection").textContent = unavailable ? strings.unavailable : strings.reconnecting;
      const base = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)];
      attempt += 1;
      setTimeout(connect, base + Math.random() * base * 0.5);
    };
  }

  $("my-status").addEventListener("change", () => {
    // Not sent: show the status the service still has, not the one chosen.
    if (!act({ type: "status", status: $("my-status").value })) $("my-status").value = confirmedStatus;
  });
  $("mute").addEventListener("click", () => {
    localStorage.setItem(MUTE_KEY, muted() ? "0" : "1");
    showMute();
  });
  document.addEventListener("pointerdown", unlockAudio);
  document.addEventListener("keydown", unlockAudio);
  showMute();
  loadCanned();
  connect();
  setInterval(renderLetters, LETTERS_REDRAW_MS);
})();
