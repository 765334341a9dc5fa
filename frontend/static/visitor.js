// The visitor's chat: start, reconnect with backoff, resend safely, never send a draft.
"use strict";

(function () {
  // sessionStorage (gone when the tab closes); the name is the server's, shared with quick-exit.js.
  const STORAGE_KEY = document.getElementById("quick-exit").dataset.chatKey;
  const BACKOFF_MS = [250, 500, 1000, 2000, 4000, 8000];
  const TYPING_EVERY_MS = 3000;
  const TYPING_SHOWN_MS = 5000;
  const STOP_CODES = new Set([4401, 4403, 4410]); // no point reconnecting

  const strings = JSON.parse(document.getElementById("strings").textContent);
  const $ = (id) => document.getElementById(id);
  const fill = (text, values) =>
    text.replace(/\{(\w+)\}/g, (_, key) => (key in values ? String(values[key]) : ""));

  const state = {
    token: null,
    socket: null,
    lastId: "0-0",
    attempt: 0,
    pending: [], // {clientId, text, item}: shown, not yet confirmed stored
    mine: new Map(), // entry id -> list item of my stored messages
    delivered: "0-0",
    counselor: "",
    ended: false,
    lastTypingSent: 0,
    typingTimer: null,
  };

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

  function show(element, text) {
    element.textContent = text || "";
    element.hidden = !text;
  }

  // Views --------------------------------------------------------------------------------
  function showChat() {
    $("intro").hidden = true;
    $("chat").hidden = false;
    $("message").focus();
  }

  function addItem(kind, text, meta) {
    const item = document.createElement("li");
    item.className = "entry entry-" + kind;
    if (meta) {
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = meta;
      item.appendChild(who);
    }
    const body = document.createElement("p");
    body.className = "text";
    body.textContent = text; // never innerHTML: nothing anyone sends is rendered as markup
    item.appendChild(body);
    $("log").appendChild(item);
    item.scrollIntoView({ block: "end" });
    return item;
  }

  function setTick(item, text) {
    let tick = item.querySelector(".tick");
    if (!tick) {
      tick = document.createElement("span");
      tick.className = "tick";
      item.appendChild(tick);
    }
    tick.textContent = text;
  }

  function markDelivered() {
    for (const [id, item] of state.mine) {
      if (compareIds(id, state.delivered) <= 0) {
        setTick(item, strings.delivered);
        state.mine.delete(id);
      }
    }
  }

  function endChat(by) {
    state.ended = true;
    sessionStorage.removeItem(STORAGE_KEY);
    $("composer").hidden = true;
    document.querySelector("#chat .end").hidden = true;
    show($("typing"), "");
    addItem("event", by === "visitor" ? strings.ended_by_visitor : strings.ended_by_counselor);
    show($("chat-status"), strings.ended);
  }

  // Frames from the server ---------------------------------------------------------------
  function onState(frame) {
    if (frame.state === "waiting") {
      const parts = [fill(strings.position, frame)];
      if (!frame.counselors_online) parts.push(strings.nobody);
      else if (frame.wait_minutes <= 2) parts.push(strings.wait_soon);
      else parts.push(fill(strings.wait, { minutes: frame.wait_minutes }));
      parts.push(strings.write_while_waiting);
      show($("chat-status"), parts.join(" "));
    } else if (frame.state === "active") {
      state.counselor = frame.counselor;
      show($("chat-status"), fill(strings.active, { name: frame.counselor }));
    } else if (frame.state === "gone") {
      gone();
    }
  }

  function onEntry(frame) {
    if (compareIds(frame.id, state.lastId) <= 0) return; // already shown
    state.lastId = frame.id;
    if (frame.kind === "msg" && frame.from === "visitor") {
      const index = state.pending.findIndex((p) => p.clientId === frame.client_id);
      const item = index >= 0 ? state.pending.splice(index, 1)[0].item
        : addItem("mine", frame.text, strings.you);
      setTick(item, strings.sent);
      state.mine.set(frame.id, item);
      markDelivered();
    } else if (frame.kind === "msg") {
      addItem("theirs", frame.text, state.counselor);
      show($("typing"), "");
      send({ type: "seen", id: frame.id });
    } else if (frame.kind === "join") {
      state.counselor = frame.name;
      addItem("event", fill(strings.joined, { name: frame.name }));
    } else if (frame.kind === "end") {
      endChat(frame.from);
    }
  }

  function onError(frame) {
    show($("chat-error"), frame.message);
    // The refused message goes back into the box, so nothing written is lost.
    const index = frame.client_id
      ? state.pending.findIndex((p) => p.clientId === frame.client_id)
      : state.pending.length - 1;
    if (index >= 0 && (frame.code === "too_long" || frame.code === "rate_limited")) {
      const [refused] = state.pending.splice(index, 1);
      refused.item.remove();
      const box = $("message");
      box.value = refused.text + (box.value ? "\n" + box.value : "");
    }
  }

  function onFrame(frame) {
    switch (frame.type) {
      case "state": return onState(frame);
      case "entry": return onEntry(frame);
      case "sent": return undefined; // the entry itself follows and marks it
      case "delivered":
        if (compareIds(frame.id, state.delivered) > 0) state.delivered = frame.id;
        return markDelivered();
      case "typing":
        show($("typing"), fill(strings.typing, { name: state.counselor }));
        clearTimeout(state.typingTimer);
        state.typingTimer = setTimeout(() => show($("typing"), ""), TYPING_SHOWN_MS);
        return undefined;
      case "error": return onError(frame);
      default: return undefined;
    }
  }

  // The connection -----------------------------------------------------------------------
  function send(frame) {
    if (state.socket && state.socket.readyState === WebSocket.OPEN) {
      state.socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + "/ws/chat");
    state.socket = socket;
    socket.onopen = () => {
      state.attempt = 0;
      show($("connection"), "");
      socket.send(JSON.stringify({ type: "hello", token: state.token, last_id: state.lastId }));
      // Re-sending is safe: the server stores each client id once.
      for (const p of state.pending) send({ type: "msg", text: p.text, client_id: p.clientId });
    };
    socket.onmessage = (event) => {
      try { onFrame(JSON.parse(event.data)); } catch (e) { /* ignore a frame we cannot read */ }
    };
    socket.onclose = (event) => {
      if (state.socket !== socket) return;
      state.socket = null;
      if (STOP_CODES.has(event.code)) return gone();
      if (state.ended) return undefined;
      show($("connection"), strings.reconnecting);
      const base = BACKOFF_MS[Math.min(state.attempt, BACKOFF_MS.length - 1)];
      state.attempt += 1;
      setTimeout(connect, base + Math.random() * base * 0.5);
      return undefined;
    };
  }

  function gone() {
    sessionStorage.removeItem(STORAGE_KEY);
    if (!state.ended) {
      state.ended = true;
      $("composer").hidden = true;
      document.querySelector("#chat .end").hidden = true;
      show($("chat-status"), strings.gone);
    }
  }

  // What the visitor does ----------------------------------------------------------------
  async function start() {
    const button = $("start-chat");
    button.disabled = true;
    show($("start-error"), "");
    try {
      const response = await fetch("/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: "{}",
        credentials: "same-origin",
      });
      const body = await response.json();
      if (!response.ok) throw new Error(body.message || strings.start_failed);
      state.token = body.token;
      sessionStorage.setItem(STORAGE_KEY, state.token);
      showChat();
      show($("chat-status"), strings.connecting);
      connect();
    } catch (error) {
      show($("start-error"), error.message || strings.start_failed);
      button.disabled = false;
    }
  }

  function submit(event) {
    event.preventDefault();
    const box = $("message");
    const text = box.value.trim();
    if (!text || state.ended) return;
    const clientId = newClientId();
    const item = addItem("mine", text, strings.you);
    setTick(item, strings.sending);
    state.pending.push({ clientId, text, item });
    box.value = "";
    show($("chat-error"), "");
    send({ type: "msg", text, client_id: clientId });
  }

  function typed() {
    const now = Date.now();
    // Only the fact of typing is sent, never the draft.
    if ($("message").value.trim() && now - state.lastTypingSent > TYPING_EVERY_MS) {
      state.lastTypingSent = now;
      send({ type: "typing" });
    }
  }

  function wire() {
    const button = $("start-chat");
    if (button) {
      button.hidden = false;
      button.addEventListener("click", start);
    }
    $("composer").addEventListener("submit", submit);
    $("message").addEventListener("input", typed);
    $("message").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) submit(event);
    });
    $("end-chat").addEventListener("click", () => {
      $("end-chat").hidden = true;
      $("end-confirm").hidden = false;
    });
    $("end-no").addEventListener("click", () => {
      $("end-confirm").hidden = true;
      $("end-chat").hidden = false;
    });
    $("end-yes").addEventListener("click", () => {
      $("end-confirm").hidden = true;
      $("end-chat").hidden = false;
      send({ type: "end" });
    });
    const saved = sessionStorage.getItem(STORAGE_KEY);
    if (saved) { // a reload within the same tab resumes the chat
      state.token = saved;
      showChat();
      connect();
    }
  }

  wire();
})();
