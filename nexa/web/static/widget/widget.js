// The chat inside the widget iframe: plain JS, no build step. Every customer-provided text is set with
// textContent, never as HTML.
(function () {
  "use strict";

  var TEXTS = {
    "pt-BR": {
      name: "Nome", email: "E-mail", phone: "Telefone", start: "Iniciar conversa", send: "Enviar",
      placeholder: "Escreva sua mensagem…", prechat_intro: "Conte quem você é para começarmos.",
      offline: "Estamos fora do horário de atendimento. Responderemos assim que possível.",
      failed: "Não foi possível enviar. Tente novamente.", reconnecting: "Reconectando…", you: "Você",
    },
    es: {
      name: "Nombre", email: "Correo", phone: "Teléfono", start: "Iniciar conversación", send: "Enviar",
      placeholder: "Escribe tu mensaje…", prechat_intro: "Cuéntanos quién eres para empezar.",
      offline: "Estamos fuera del horario de atención. Responderemos lo antes posible.",
      failed: "No se pudo enviar. Inténtalo de nuevo.", reconnecting: "Reconectando…", you: "Tú",
    },
    en: {
      name: "Name", email: "Email", phone: "Phone", start: "Start chat", send: "Send",
      placeholder: "Type your message…", prechat_intro: "Tell us who you are to get started.",
      offline: "We are away right now. We will answer as soon as we can.",
      failed: "Could not send. Please try again.", reconnecting: "Reconnecting…", you: "You",
    },
  };

  var root = document.querySelector(".widget");
  var inbox = JSON.parse(document.getElementById("nexa-inbox").textContent);
  var token = root.getAttribute("data-website-token");
  var texts = TEXTS[root.getAttribute("data-locale")] || TEXTS.en;
  var api = "/public/api/v1/inboxes/" + encodeURIComponent(token);
  var storageKey = "nexa.widget." + token;
  var list = root.querySelector(".widget__messages");
  var composer = root.querySelector(".widget__composer");
  var input = composer.querySelector("textarea");
  var prechat = root.querySelector(".widget__prechat");
  var status = root.querySelector(".widget__status");
  var state = load();
  var rendered = {};   // message id -> element
  var pending = {};    // echo_id -> element
  var socket = null;
  var retryDelay = 1000;
  var typingTimer = null;

  function load() {
    try { return JSON.parse(localStorage.getItem(storageKey)) || {}; } catch (e) { return {}; }
  }
  function save() {
    try { localStorage.setItem(storageKey, JSON.stringify(state)); } catch (e) { /* private mode */ }
  }
  function request(method, path, body) {
    return fetch(api + path, {
      method: method,
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    }).then(function (response) {
      if (!response.ok) throw new Error(method + " " + path + ": " + response.status);
      return response.status === 204 ? null : response.json();
    });
  }

  function translate() {
    root.querySelectorAll("[data-i18n]").forEach(function (el) { el.textContent = texts[el.getAttribute("data-i18n")]; });
    root.querySelectorAll("[data-i18n-placeholder]").forEach(function (el) {
      el.placeholder = texts[el.getAttribute("data-i18n-placeholder")];
    });
  }

  function bubble(className, author, content) {
    var el = document.createElement("div");
    el.className = "msg " + className;
    if (author) {
      var who = document.createElement("span");
      who.className = "msg__author";
      who.textContent = author;
      el.appendChild(who);
    }
    var body = document.createElement("span");
    body.className = "msg__body";
    body.textContent = content || "";
    el.appendChild(body);
    list.appendChild(el);
    list.scrollTop = list.scrollHeight;
    return el;
  }

  function render(message) {
    if (rendered[message.id]) {
      rendered[message.id].querySelector(".msg__body").textContent = message.content || "";
      return;
    }
    var el = message.echo_id && pending[message.echo_id];
    if (el) {
      delete pending[message.echo_id];
      el.classList.remove("msg--pending");
    } else {
      var incoming = message.message_type === 0;
      var author = incoming ? null : (message.sender && message.sender.name) || inbox.name;
      el = bubble(incoming ? "msg--in" : "msg--out", author, message.content);
      renderButtons(el, message);
    }
    el.setAttribute("data-message-id", String(message.id));
    rendered[message.id] = el;
  }

  function renderButtons(el, message) {
    var items = message.content_attributes && message.content_attributes.items;
    if (message.content_type !== "input_select" || !Array.isArray(items)) return;
    var row = document.createElement("div");
    row.className = "msg__buttons";
    items.forEach(function (item) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = item.title;
      button.addEventListener("click", function () { send(item.title); });
      row.appendChild(button);
    });
    el.appendChild(row);
  }

  function ensureConversation(visitor) {
    if (state.conversation_id) return Promise.resolve();
    var path = "/contacts/" + encodeURIComponent(state.source_id) + "/conversations";
    return request("POST", path).then(function (conversation) {
      state.conversation_id = conversation.id;
      save();
    });
  }

  function ensureVisitor(details) {
    if (state.source_id) return Promise.resolve();
    return request("POST", "/contacts", details || {}).then(function (visitor) {
      state.source_id = visitor.source_id;
      state.pubsub_token = visitor.pubsub_token;
      save();
      connect();
    });
  }

  function conversationPath(suffix) {
    return "/contacts/" + encodeURIComponent(state.source_id) + "/conversations/" + state.conversation_id + suffix;
  }

  function send(content) {
    content = content.trim();
    if (!content) return;
    var echo = "w" + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
    pending[echo] = bubble("msg--in msg--pending", null, content);
    ensureVisitor()
      .then(ensureConversation)
      .then(function () { return request("POST", conversationPath("/messages"), { content: content, echo_id: echo }); })
      .then(render)
      .catch(function () { status.textContent = texts.failed; });
  }

  function refresh() {
    if (!state.source_id || !state.conversation_id) return Promise.resolve();
    return request("GET", conversationPath("/messages")).then(function (messages) { messages.forEach(render); })
      .catch(function (error) {
        // A visitor forgotten by the server (deleted) starts over rather than failing forever.
        if (String(error.message).indexOf(": 404") > 0) { state = {}; save(); }
      });
  }

  function connect() {
    if (!state.pubsub_token || socket) return;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws/widget?pubsub_token=" + encodeURIComponent(state.pubsub_token));
    var heartbeat = null;
    socket.onopen = function () {
      retryDelay = 1000; status.textContent = ""; refresh();
      // Keeps the visitor among the account's active contacts (the server forgets them after ~20 s).
      heartbeat = setInterval(function () { if (socket) socket.send(JSON.stringify({ type: "ping" })); }, 10000);
    };
    socket.onmessage = function (frame) {
      var event;
      try { event = JSON.parse(frame.data); } catch (e) { return; }
      if (!event.data || event.data.conversation_id !== state.conversation_id) return;
      if (event.event === "message.created" || event.event === "message.updated") render(event.data);
    };
    socket.onclose = function (closed) {
      socket = null;
      clearInterval(heartbeat);
      if (closed.code === 4401) return;  // our token is no longer valid: do not hammer the server
      status.textContent = texts.reconnecting;
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 30000);
    };
  }

  // Chatwoot's webwidget.triggered: the visitor opened the chat. Before the pre-chat form is filled in
  // there is nobody to name yet, so the event waits for it and carries its answers.
  var openedOn = null;
  function triggered(prechatData) {
    var info = { referer: openedOn || document.referrer || undefined, initiated_at: { timestamp: new Date().toString() },
      widget_language: root.getAttribute("data-locale") || undefined };
    if (prechatData) info.pre_chat_form_data = prechatData;
    return request("POST", "/contacts/" + encodeURIComponent(state.source_id) + "/events",
      { name: "webwidget.triggered", event_info: info }).catch(function () {});
  }
  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || !event.data || event.data.nexa !== "opened") return;
    openedOn = typeof event.data.referer === "string" ? event.data.referer : null;
    if (state.source_id) triggered();
    else if (!inbox.pre_chat_form_enabled) ensureVisitor().then(function () { triggered(); }).catch(function () {});
  });

  function showPrechat() {
    var fields = inbox.pre_chat_form_fields || [];
    prechat.querySelectorAll("label[data-field]").forEach(function (label) {
      label.hidden = fields.indexOf(label.getAttribute("data-field")) < 0;
    });
    prechat.hidden = false;
    composer.hidden = true;
    prechat.addEventListener("submit", function (event) {
      event.preventDefault();
      var details = {};
      new FormData(prechat).forEach(function (value, key) { if (String(value).trim()) details[key] = String(value).trim(); });
      ensureVisitor(details).then(function () {
        prechat.hidden = true; composer.hidden = false; input.focus();
        triggered(details);
      })
        .catch(function () { status.textContent = texts.failed; });
    });
  }

  composer.addEventListener("submit", function (event) {
    event.preventDefault();
    send(input.value);
    input.value = "";
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); composer.requestSubmit(); }
  });
  input.addEventListener("input", function () {
    if (!state.conversation_id) return;
    if (!typingTimer) request("POST", conversationPath("/toggle_typing"), { typing_status: "on" }).catch(function () {});
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () {
      typingTimer = null;
      request("POST", conversationPath("/toggle_typing"), { typing_status: "off" }).catch(function () {});
    }, 2000);
  });

  translate();
  if (inbox.greeting_message) bubble("msg--out", inbox.name, inbox.greeting_message);
  if (inbox.working_hours_enabled && !inbox.is_open && inbox.out_of_office_message) {
    bubble("msg--out", inbox.name, inbox.out_of_office_message);
  }
  if (state.source_id) { connect(); refresh(); }
  else if (inbox.pre_chat_form_enabled) showPrechat();
})();
