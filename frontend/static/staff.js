// The counselor's console: the live queue, taking chats, several chats at once.
"use strict";

(function () {
  const BACKOFF_MS = [250, 500, 1000, 2000, 4000, 8000];
  const TYPING_EVERY_MS = 3000;
  const TYPING_SHOWN_MS = 5000;

  const strings = JSON.parse(document.getElementById("strings").textContent);
  const $ = (id) => document.getElementById(id);
  const fill = (text, values) =>
    text.replace(/\{(\w+)\}/g, (_, key) => (key in values ? String(values[key]) : ""));

  const chats = new Map(); // conv -> chat
  let socket = null;
  let attempt = 0;
  let selected = null;
  let counter = 0;

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

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  }

  // Chats --------------------------------------------------------------------------------
  function chat(conv) {
    if (chats.has(conv)) return chats.get(conv);
    counter += 1;
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
      conv, pane, button, label: fill(strings.chat, { n: counter }), unread: 0,
      lastId: "0-0", pending: new Map(), mine: new Map(), delivered: "0-0", ended: false,
      lastTypingSent: 0, typingTimer: null,
    };
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
    pane.querySelector(".end-chat").addEventListener("click", () => send({ type: "end", conv }));
    chats.set(conv, entry);
    label(entry);
    if (!selected) select(conv);
    return entry;
  }

  function label(entry) {
    entry.button.textContent = entry.label + (entry.unread ? " (" + entry.unread + ")" : "");
    entry.button.classList.toggle("unread", entry.unread > 0);
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
      if (selected !== frame.conv || document.hidden) { entry.unread += 1; label(entry); }
    } else if (frame.kind === "join") {
      addItem(entry, "event", strings.joined);
    } else if (frame.kind === "end") {
      entry.ended = true;
      addItem(entry, "event", frame.from === "visitor" ? strings.ended_visitor : strings.ended_you);
      entry.pane.querySelector("form").hidden = true;
      entry.pane.querySelector(".end-chat").hidden = true;
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
      const take = document.createElement("button");
      take.type = "button";
      take.className = "primary take";
      take.textContent = strings.take;
      take.addEventListener("click", () => { take.disabled = true; send({ type: "take", conv: item.conv }); });
      row.append(text, take);
      list.appendChild(row);
    }
    $("queue-count").textContent = String(items.length);
    $("queue-empty").hidden = items.length > 0;
  }

  function notice(text) {
    const element = $("notice");
    element.textContent = text;
    element.hidden = false;
    setTimeout(() => { element.hidden = true; }, 4000);
  }

  function onFrame(frame) {
    switch (frame.type) {
      case "queue": return renderQueue(frame.items);
      case "chats": for (const item of frame.items) chat(item.conv); return undefined;
      case "taken": chat(frame.conv); return select(frame.conv);
      case "take_failed": return notice(strings.take_failed);
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
      case "error": return notice(frame.message || frame.code);
      default: return undefined;
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(scheme + location.host + "/staff/ws");
    socket = ws;
    ws.onopen = () => {
      attempt = 0;
      $("connection").textContent = "";
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
      try { onFrame(JSON.parse(event.data)); } catch (e) { /* ignore a frame we cannot read */ }
    };
    ws.onclose = (event) => {
      if (socket !== ws) return;
      socket = null;
      if (event.code === 4401) { location.reload(); return; } // the session is gone: log in again
      $("connection").textContent = strings.reconnecting;
      const base = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)];
      attempt += 1;
      setTimeout(connect, base + Math.random() * base * 0.5);
    };
  }

  connect();
})();
