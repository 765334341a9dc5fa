// The visitor's chat: start, reconnect with backoff, resend safely, never send a draft;
// return codes (shown once, never stored), messages left when nobody can answer, and the
// intake offer (consent card): only the visitor's own "Send" says yes.
"use strict";

(function () {
  // sessionStorage (gone when the tab closes); the name is the server's, shared with quick-exit.js.
  const STORAGE_KEY = document.getElementById("quick-exit").dataset.chatKey;
  const BACKOFF_MS = [250, 500, 1000, 2000, 4000, 8000];
  const TYPING_EVERY_MS = 3000;
  const TYPING_SHOWN_MS = 5000;
  const STOP_CODES = new Set([4401, 4403, 4410]); // no point reconnecting
  const CLOSE_REPLACED = 4409; // the conversation was reopened with its code elsewhere
  const CLOSE_TRY_LATER = 1013; // the service's storage is away (restart, failover): keep trying

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
    phase: "", // the latest state from the server: waiting, active, letter, ended
    stateFrame: null, // ... and its frame, shown again after a restored history has been replayed
    ended: false,
    lastTypingSent: 0,
    typingTimer: null,
    messages: [], // {id, text, who}: the chat's messages, for choosing what goes with an intake
    proposal: null, // the intake offer shown in the consent card (id), if any
    consenting: false, // a consent / decline / withdraw is on its way
    unavailable: false, // the service said its storage is away (1013) and has not answered since
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

  // Ended, or going on: a restored conversation's history holds an end and then its return.
  function setEnded(ended) {
    state.ended = ended;
    $("composer").hidden = ended;
    document.querySelector("#chat .end").hidden = ended;
    $("get-code").hidden = ended || state.phase === "letter";
    $("end-chat").hidden = state.phase === "letter"; // a letter is not a chat to end
    $("feedback-offer").hidden = !ended; // the anonymous survey, once there is something to tell
    if (ended) {
      sessionStorage.removeItem(STORAGE_KEY);
      show($("typing"), "");
    } else {
      sessionStorage.setItem(STORAGE_KEY, state.token);
    }
  }

  function endChat(frame) {
    const text = frame.from === "visitor" ? strings.ended_by_visitor
      : frame.from === "counselor" ? strings.ended_by_counselor : strings.ended_system;
    addItem("event", text);
    setEnded(true);
    show($("chat-status"), strings.ended);
  }

  // The code is only ever in this card; "I have written it down" removes it from the page.
  function showCode(code, days) {
    $("code-value").textContent = code;
    $("code-keep").textContent = fill(strings.code_keep, { days });
    $("code-card").hidden = false;
    $("code-title").focus();
  }

  function hideCode() {
    $("code-value").textContent = "";
    $("code-card").hidden = true;
    $("message").focus();
  }

  // Frames from the server ---------------------------------------------------------------
  function onState(frame) {
    state.stateFrame = frame;
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
    } else if (frame.state === "letter") {
      if (frame.counselor) state.counselor = frame.counselor;
      show($("chat-status"), fill(frame.counselor ? strings.letter_answered : strings.letter_waiting,
        { name: frame.counselor, days: frame.reply_within_days }));
    } else if (frame.state === "ended") {
      show($("chat-status"), strings.ended);
    } else if (frame.state === "gone") {
      return gone();
    }
    state.phase = frame.state;
    // The server's state is the truth: a conversation that goes on is not ended.
    setEnded(frame.state === "ended");
    return undefined;
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
      addMessage(frame.id, frame.text, strings.you);
    } else if (frame.kind === "msg") {
      addItem("theirs", frame.text, state.counselor || strings.counselor);
      addMessage(frame.id, frame.text, state.counselor || strings.counselor);
      show($("typing"), "");
      send({ type: "seen", id: frame.id });
    } else if (frame.kind === "join") {
      state.counselor = frame.name;
      addItem("event", fill(strings.joined, { name: frame.name }));
    } else if (frame.kind === "end") {
      endChat(frame);
    } else if (frame.kind === "returned") {
      addItem("event", strings.returned);
      if (state.stateFrame) onState(state.stateFrame); // replayed "end"s do not end it
    }
  }

  // The intake offer -----------------------------------------------------------------------
  function addMessage(id, text, who) {
    state.messages.push({ id, text, who });
    if (state.proposal) addChoice({ id, text, who });
  }

  function addChoice(message) {
    const item = document.createElement("li");
    item.className = "consent-message";
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = message.id;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = message.who + ": ";
    label.append(box, who, document.createTextNode(message.text));
    item.appendChild(label);
    $("consent-messages").appendChild(item);
  }

  function showCard(frame) {
    const isNew = state.proposal !== frame.id;
    state.proposal = frame.id;
    state.consenting = false;
    $("consent-kind").textContent = fill(strings.consent_kind, { kind: frame.kind_text });
    show($("consent-note"), frame.note);
    const text = $("consent-text");
    text.replaceChildren();
    for (const paragraph of frame.text) {
      const p = document.createElement("p");
      p.textContent = paragraph;
      text.appendChild(p);
    }
    const expires = document.createElement("p");
    expires.className = "hint";
    expires.textContent = fill(strings.consent_expires, { minutes: Math.max(1, Math.round(frame.expires_in / 60)) });
    text.appendChild(expires);
    if (isNew) {
      $("consent-form").reset(); // an unticked box, every time: the yes is the visitor's own
      $("consent-messages").replaceChildren();
      for (const message of state.messages) addChoice(message);
      shareChanged();
      contactChanged();
    }
    $("consent-form").hidden = false;
    show($("consent-outcome"), "");
    show($("consent-error"), "");
    $("consent-withdraw").hidden = true;
    if ($("consent-card").hidden) {
      $("consent-card").hidden = false;
      $("consent-title").focus();
    }
  }

  function closeCard(note) {
    state.proposal = null;
    state.consenting = false;
    $("consent-card").hidden = true;
    $("consent-messages").replaceChildren();
    $("consent-form").reset();
    if (note) addItem("event", note);
  }

  // Consented: the form goes (with what was typed in it); the visitor may still take it back.
  function showConsented(id) {
    state.proposal = id;
    state.consenting = false;
    $("consent-form").reset();
    $("consent-form").hidden = true;
    $("consent-card").hidden = false;
    show($("consent-outcome"), strings.consent_sent);
    $("consent-withdraw").hidden = false;
  }

  function onProposal(frame) {
    if (frame.status === "open") return showCard(frame);
    if (frame.status === "consented") return showConsented(frame.id);
    const notes = { declined: strings.consent_declined, withdrawn: strings.consent_withdrawn,
      expired: strings.consent_expired };
    return closeCard(state.proposal === frame.id ? notes[frame.status] : ""); // not again after a reload
  }

  function onIntake(frame) {
    state.consenting = false;
    if (frame.status === "consented") return showConsented(frame.id);
    if (frame.status === "withdrawn") return closeCard(strings.consent_withdrawn);
    $("consent-withdraw").hidden = true; // already sent: how to reach Nexus about it
    return show($("consent-outcome"), frame.message);
  }

  function shareChanged() {
    $("consent-messages").hidden = !$("consent-share-chosen").checked;
  }

  function contactChanged() {
    $("consent-phone-fields").hidden = !$("consent-contact-phone").checked;
  }

  // Only a first check, for a quicker answer: the server checks everything again.
  function luhnOk(digits) {
    let sum = 0;
    for (let i = 0; i < digits.length; i += 1) {
      let value = Number(digits[i]) * (i % 2 === 0 ? 2 : 1);
      if (value > 9) value -= 9;
      sum += value;
    }
    return sum % 10 === 0;
  }

  function pnrLooksRight(value) {
    const match = /^(\d{2})?(\d{6})[-+]?(\d{4})$/.exec(value.replace(/\s/g, ""));
    return Boolean(match) && luhnOk(match[2] + match[3]);
  }

  function consentFrame() {
    const name = $("consent-name").value.trim();
    const pnr = $("consent-pnr").value.trim();
    const byPhone = $("consent-contact-phone").checked;
    const phone = $("consent-phone").value.trim();
    const share = document.querySelector("input[name=consent-share]:checked").value;
    const chosen = Array.from(document.querySelectorAll(".consent-message input:checked"), (box) => box.value);
    if (!$("consent-confirm").checked) throw new Error(strings.consent_need_confirm);
    if (!name) throw new Error(strings.consent_need_name);
    if (pnr && !pnrLooksRight(pnr)) throw new Error(strings.consent_bad_pnr);
    if (byPhone && !phone) throw new Error(strings.consent_need_phone);
    if (share === "chosen" && !chosen.length) throw new Error(strings.consent_need_messages);
    return {
      type: "consent", proposal_id: state.proposal, address_as: name, personnummer: pnr,
      contact: byPhone ? "phone" : "office", phone: byPhone ? phone : "",
      safe_times: byPhone ? $("consent-times").value.trim() : "",
      messages: share === "chosen" ? chosen : share, mask: $("consent-mask").checked, confirmed: true,
    };
  }

  function sendConsent(event) {
    event.preventDefault();
    if (!state.proposal || state.consenting) return;
    show($("consent-error"), "");
    let frame;
    try {
      frame = consentFrame();
    } catch (error) {
      show($("consent-error"), error.message);
      return;
    }
    state.consenting = true;
    if (!send(frame)) {
      state.consenting = false;
      show($("consent-error"), strings.failed);
    }
  }

  function answerProposal(type) {
    if (!state.proposal || state.consenting) return;
    state.consenting = true;
    if (!send({ type, proposal_id: state.proposal })) {
      state.consenting = false;
      show($("consent-error"), strings.failed);
    }
  }

  function onError(frame) {
    if (state.consenting) { // the answer to a consent, "no thanks" or withdrawal
      state.consenting = false;
      const shown = $("consent-form").hidden ? $("consent-outcome") : $("consent-error");
      return show(shown, frame.code === "not_allowed" ? strings.consent_closed : strings.consent_refused);
    }
    show($("chat-error"), frame.message);
    // The refused message goes back into the box, so nothing written is lost.
    const index = frame.client_id
      ? state.pending.findIndex((p) => p.clientId === frame.client_id)
      : state.pending.length - 1;
    if (index >= 0 && ["too_long", "rate_limited", "repeated"].includes(frame.code)) {
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
      case "sent": return undefined; // a re-send of a stored message: its entry came with the catch-up
      case "delivered":
        if (compareIds(frame.id, state.delivered) > 0) state.delivered = frame.id;
        return markDelivered();
      case "typing":
        show($("typing"), fill(strings.typing, { name: state.counselor }));
        clearTimeout(state.typingTimer);
        state.typingTimer = setTimeout(() => show($("typing"), ""), TYPING_SHOWN_MS);
        return undefined;
      case "error": return onError(frame);
      case "code": return showCode(frame.code, frame.expires_in_days);
      case "proposal": return onProposal(frame);
      case "intake": return onIntake(frame);
      // Screening: danger now shows 112 at once, before any counselor answers; a personnummer or
      // phone number typed gets a gentle word that it is not needed.
      case "urgent": $("urgent").hidden = false; return show($("urgent-text"), frame.message);
      case "notice": return show($("chat-notice"), frame.message);
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
    let answered = false; // the service took this hello: only then is the interruption over
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: "hello", token: state.token, last_id: state.lastId }));
      // Re-sending is safe: the server stores each client id once.
      for (const p of state.pending) send({ type: "msg", text: p.text, client_id: p.clientId });
    };
    socket.onmessage = (event) => {
      if (!answered) {
        answered = true;
        state.attempt = 0;
        state.unavailable = false;
        show($("connection"), "");
      }
      try { onFrame(JSON.parse(event.data)); } catch (e) { /* ignore a frame we cannot read */ }
    };
    socket.onclose = (event) => {
      if (state.socket !== socket) return;
      state.socket = null;
      if (event.code === CLOSE_REPLACED) return replaced();
      if (STOP_CODES.has(event.code)) return gone();
      if (state.ended) return undefined;
      if (event.code === CLOSE_TRY_LATER) state.unavailable = true;
      // Unsent messages stay in `pending` (shown as "Sending…") and go out once the service answers.
      show($("connection"), state.unavailable ? strings.unavailable : strings.reconnecting);
      const base = BACKOFF_MS[Math.min(state.attempt, BACKOFF_MS.length - 1)];
      state.attempt += 1;
      setTimeout(connect, base + Math.random() * base * 0.5);
      return undefined;
    };
  }

  function gone() {
    show($("connection"), "");
    if (!state.ended) show($("chat-status"), strings.gone);
    setEnded(true);
  }

  // Whoever reopened it with the code may be the visitor on a safer device, or someone who
  // found the code: either way this screen must no longer show the conversation.
  function replaced() {
    $("log").replaceChildren();
    hideCode();
    setEnded(true);
    show($("typing"), "");
    show($("chat-status"), strings.replaced);
  }

  // Posts JSON to the service; the answer's body, or an Error with the server's message.
  async function post(path, payload) {
    let response;
    try {
      response = await fetch(path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(payload),
        credentials: "same-origin",
      });
    } catch (e) {
      throw new Error(strings.failed);
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error(body.message || strings.failed);
      error.body = body;
      throw error;
    }
    return body;
  }

  function open(token) {
    state.token = token;
    sessionStorage.setItem(STORAGE_KEY, token);
    showChat();
    show($("chat-status"), strings.connecting);
    connect();
  }

  // What the visitor does ----------------------------------------------------------------
  async function start() {
    const button = $("start-chat");
    button.disabled = true;
    show($("start-error"), "");
    try {
      open((await post("/api/chat", {})).token);
    } catch (error) {
      show($("start-error"), error.message || strings.start_failed);
      if (error.body && error.body.letter) $("letter").hidden = false; // leave a message instead
      button.disabled = false;
    }
  }

  // A form's request with its button disabled meanwhile; the server's refusal is shown
  // under the form, and what the visitor typed stays where it is.
  async function sending(form, errorId, action) {
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    show($(errorId), "");
    try {
      await action();
    } catch (error) {
      show($(errorId), error.message);
    } finally {
      button.disabled = false;
    }
  }

  function leaveLetter(event) {
    event.preventDefault();
    const box = $("letter-text");
    if (!box.value.trim()) return undefined;
    return sending(event.target, "letter-error", async () => {
      const body = await post("/api/letter", { text: box.value });
      box.value = "";
      open(body.token);
      showCode(body.code, body.expires_in_days);
      show($("chat-status"), fill(strings.letter_sent, { days: body.reply_within_days }));
    });
  }

  function comeBack(event) {
    event.preventDefault();
    const input = $("return-code");
    if (!input.value.trim()) return undefined;
    return sending(event.target, "return-error", async () => {
      const body = await post("/api/return", { code: input.value });
      input.value = ""; // the code is kept nowhere, not even in the form
      open(body.token);
    });
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
    for (const id of ["letter-form", "return-form"]) $(id).hidden = false;
    $("letter-form").addEventListener("submit", leaveLetter);
    $("return-form").addEventListener("submit", comeBack);
    $("get-code").addEventListener("click", () => {
      show($("chat-error"), "");
      if (!send({ type: "code" })) show($("chat-error"), strings.failed);
    });
    $("code-done").addEventListener("click", hideCode);
    $("consent-form").addEventListener("submit", sendConsent);
    $("consent-decline").addEventListener("click", () => answerProposal("decline"));
    $("consent-withdraw").addEventListener("click", () => answerProposal("withdraw"));
    for (const input of document.querySelectorAll("input[name=consent-share]")) {
      input.addEventListener("change", shareChanged);
    }
    for (const input of document.querySelectorAll("input[name=consent-contact]")) {
      input.addEventListener("change", contactChanged);
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
