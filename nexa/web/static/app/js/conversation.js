// One open conversation: header actions, history, composer. Customer text only ever becomes text nodes.
import { accountPath, api } from "./api.js";
import { ContactPanel } from "./contact.js";
import { clear, h, toast } from "./dom.js";
import { config, dayKey, formatDay, formatDuration, formatTime, t } from "./i18n.js";
import { realtime } from "./realtime.js";
import { snoozeUntil } from "./snooze.js";

const INCOMING = 0;
const OUTGOING = 1;
const ACTIVITY = 2;
const TEMPLATE = 3;
const TYPING_IDLE_MS = 3000;
const EMOJI = ["😀", "😂", "😊", "😍", "🙏", "👍", "👏", "🎉", "✅", "❤️", "🔥", "🤔", "😅", "😉", "🙌", "👋",
  "📦", "🚚", "💳", "📅", "⏰", "📍", "📞", "💬", "⭐", "😢", "😮", "👌", "🤝", "💰", "🛒", "🎁"];
const TICKS = { pending: "🕓", sent: "✓", delivered: "✓✓", read: "✓✓", failed: "⚠" };

export class ConversationView {
  constructor(root, refs, { onBack, onChanged }) {
    this.root = root;
    this.section = root.querySelector(".conversation");
    this.refs = refs;
    this.onBack = onBack;
    this.onChanged = onChanged;
    this.contactPanel = new ContactPanel(root.querySelector(".contact"), (id) => this.openOther(id));
    this.conversation = null;
    this.messages = [];
    this.loadingOlder = false;
    this.hasOlder = true;
    this.typingTimer = null;
    this.typingSent = false;
    this.customerTypingTimer = null;
    const socket = realtime();
    socket.on("message.created", (data) => this.onMessageEvent(data));
    socket.on("message.updated", (data) => this.onMessageEvent(data));
    for (const name of ["conversation.status_changed", "conversation.updated", "assignee.changed", "team.changed"]) {
      socket.on(name, (data) => {
        if (this.conversation && data.id === this.conversation.id) this.reloadHeader();
      });
    }
    socket.on("conversation.typing_on", (data) => this.onTyping(data, true));
    socket.on("conversation.typing_off", (data) => this.onTyping(data, false));
    setInterval(() => this.showWindow(), 30000);
  }

  get url() {
    return accountPath(`/conversations/${this.conversation.id}`);
  }

  get inbox() {
    return this.conversation ? this.refs.inboxes.get(this.conversation.inbox_id) : null;
  }

  async open(displayId) {
    this.openedId = displayId;
    try {
      const [conversation, messages] = await Promise.all([
        api.get(accountPath(`/conversations/${displayId}`)),
        api.get(accountPath(`/conversations/${displayId}/messages`)),
      ]);
      if (this.openedId !== displayId) return; // another conversation was opened meanwhile
      this.conversation = conversation;
      this.messages = messages.payload;
      this.hasOlder = messages.payload.length >= 20;
      this.build();
      this.contactPanel.show(conversation.meta.sender.id, conversation);
      api.post(`${this.url}/update_last_seen`).catch(() => {});
    } catch (error) {
      toast(error.message, "error");
    }
  }

  openOther(displayId) {
    history.pushState({ displayId }, "", `/app/accounts/${config.accountId}/conversations/${displayId}`);
    this.open(displayId);
  }

  async refresh() {
    if (!this.conversation) return;
    await Promise.all([this.reloadHeader(), this.fetchNewer()]);
  }

  async reloadHeader() {
    try {
      this.conversation = await api.get(this.url);
      this.header.replaceWith(this.buildHeader());
      this.showWindow();
    } catch (error) {
      if (error.status === 404) this.close();
    }
  }

  close() {
    this.conversation = null;
    clear(this.section).append(h("p", { class: "conversation__placeholder muted" }, t("Pick a conversation.")));
  }

  async fetchNewer() {
    const last = this.messages[this.messages.length - 1];
    const result = await api.get(`${this.url}/messages`, last ? { after: last.id } : undefined);
    this.merge(result.payload);
  }

  merge(incoming) {
    const byId = new Map(this.messages.map((m) => [m.id, m]));
    for (const message of incoming) {
      // Fetches overlap (a send, then each status event): an older answer must not undo a newer status.
      if (!isStale(message, byId.get(message.id))) byId.set(message.id, message);
    }
    const stickToBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 80;
    this.messages = [...byId.values()].sort((a, b) => a.id - b.id);
    this.renderMessages();
    if (stickToBottom) this.list.scrollTop = this.list.scrollHeight;
    this.showWindow();
  }

  async onMessageEvent(data) {
    if (!this.conversation || data.conversation_id !== this.conversation.id) return;
    // Events carry no attachments or failure reason: fetch the message(s) as the API shows them.
    const result = await api.get(`${this.url}/messages`, { after: Math.min(data.id - 1, this.lastId()) });
    this.merge(result.payload);
    if (data.message_type === INCOMING) {
      this.setCustomerTyping(false);
      api.post(`${this.url}/update_last_seen`).catch(() => {});
      this.reloadHeader(); // the customer wrote: the reply window opens again (can_reply)
    }
  }

  lastId() {
    return this.messages.length ? this.messages[this.messages.length - 1].id : 0;
  }

  onTyping(data, on) {
    if (!this.conversation || data.conversation?.id !== this.conversation.id) return;
    if (data.user?.type === "contact") this.setCustomerTyping(on);
  }

  setCustomerTyping(on) {
    if (!this.typingLine) return;
    this.typingLine.textContent = on ? t("%(name)s is typing…", { name: this.conversation.meta.sender.name || t("Customer") }) : "";
    clearTimeout(this.customerTypingTimer);
    if (on) this.customerTypingTimer = setTimeout(() => this.setCustomerTyping(false), 30000);
  }

  // --- building --------------------------------------------------------------------------------------------
  build() {
    this.header = this.buildHeader();
    this.list = h("div", { class: "conv__messages", role: "log", "aria-label": t("Messages"), tabindex: "0" });
    this.list.addEventListener("scroll", () => {
      if (this.list.scrollTop < 60) this.loadOlder();
    });
    this.typingLine = h("p", { class: "typing", "aria-live": "polite" });
    this.composer = new Composer(this);
    clear(this.section).append(this.header, this.list, this.typingLine, this.composer.element);
    this.renderMessages();
    this.list.scrollTop = this.list.scrollHeight;
    this.showWindow();
  }

  buildHeader() {
    const c = this.conversation;
    const contact = c.meta.sender;
    const inbox = this.inbox;
    const me = config.userId;
    const assigneeId = c.meta.assignee?.id ?? "";
    const action = (label, handler, attributes = {}) =>
      h("button", { class: "button button--small", type: "button", onclick: () => this.run(handler), ...attributes }, label);
    const select = (label, options, current, handler) => {
      const element = h("select", { "aria-label": label, onchange: (event) => this.run(() => handler(event.target.value)) },
        options.map(([value, text]) => h("option", { value }, text)));
      element.value = String(current ?? "");
      return element;
    };
    const buttons = [];
    if (c.status !== "resolved") buttons.push(action(t("Resolve"), () => this.setStatus("resolved"), { "data-action": "resolve" }));
    else buttons.push(action(t("Reopen"), () => this.setStatus("open"), { "data-action": "reopen" }));
    if (c.status === "pending" || assigneeId !== me) buttons.push(action(t("Take over"), () => this.assignToMe(), { "data-action": "take-over" }));
    if (c.status === "open" && inbox?.bot_enabled) buttons.push(action(t("Hand back to bot"), () => this.setStatus("pending"), { "data-action": "hand-back" }));
    buttons.push(action(c.muted ? t("Unmute") : t("Mute"), () => api.post(`${this.url}/${c.muted ? "unmute" : "mute"}`)));
    const snooze = select(t("Snooze"), [["", t("Snooze…")], ["hour", t("For an hour")], ["tomorrow", t("Until tomorrow")],
      ["week", t("Until next week")]], "", (value) => value && this.snooze(value));
    const labels = h("details", { class: "conv__labels" }, h("summary", {}, t("Labels")),
      this.refs.labels.map((label) => {
        const box = h("input", { type: "checkbox", value: label.title, onchange: () => this.run(() => this.saveLabels(labels)) });
        box.checked = c.labels.includes(label.title);
        return h("label", { class: "field--inline" }, box, " ", label.title);
      }));
    return h("header", { class: "conv__header" },
      h("button", { class: "button button--small conv__back", type: "button", onclick: () => this.onBack() }, "← ", t("Back")),
      h("h2", { class: "conv__title" }, contact.name || contact.phone_number || `#${c.id}`, " ",
        h("span", { class: "muted" }, `#${c.id} · ${inbox?.name || ""} · ${statusLabel(c.status)}`)),
      h("div", { class: "conv__actions" },
        buttons,
        select(t("Assignee"), [["", t("Unassigned")], ...this.refs.agents.map((a) => [a.id, a.available_name || a.name])], assigneeId,
          (value) => this.assign({ assignee_id: value ? Number(value) : null })),
        select(t("Team"), [["", t("No team")], ...this.refs.teams.map((team) => [team.id, team.name])], c.team_id ?? "",
          (value) => this.assign({ team_id: value ? Number(value) : null })),
        select(t("Priority"), [["", t("No priority")], ["urgent", t("Urgent")], ["high", t("High")], ["medium", t("Medium")], ["low", t("Low")]],
          c.priority ?? "", (value) => api.post(`${this.url}/toggle_priority`, { priority: value || null })),
        snooze,
        labels,
        h("button", { class: "button button--small conv__contact-toggle", type: "button", "aria-expanded": String(this.root.dataset.contact === "shown"),
          onclick: (event) => {
            this.root.dataset.contact = this.root.dataset.contact === "shown" ? "" : "shown";
            event.currentTarget.setAttribute("aria-expanded", String(this.root.dataset.contact === "shown"));
          } }, t("Contact details"))));
  }

  async run(action) {
    try {
      await action();
      await this.reloadHeader();
      this.onChanged();
    } catch (error) {
      toast(error.message, "error");
    }
  }

  setStatus(status, snoozedUntil) {
    return api.post(`${this.url}/toggle_status`, { status, ...(snoozedUntil ? { snoozed_until: snoozedUntil } : {}) });
  }

  snooze(choice) {
    return this.setStatus("snoozed", snoozeUntil(choice));
  }

  assign(body) {
    return api.post(`${this.url}/assignments`, body);
  }

  resolve() {
    if (this.conversation && this.conversation.status !== "resolved") this.run(() => this.setStatus("resolved"));
  }

  assignToMe() {
    if (!this.conversation) return;
    // Taking over a bot conversation also opens it: the bot never speaks in a conversation that is not pending.
    this.run(async () => {
      await this.assign({ assignee_id: config.userId });
      if (this.conversation.status === "pending") await this.setStatus("open");
    });
  }

  saveLabels(details) {
    const chosen = [...details.querySelectorAll("input:checked")].map((box) => box.value);
    return api.post(`${this.url}/labels`, { labels: chosen });
  }

  async loadOlder() {
    if (this.loadingOlder || !this.hasOlder || !this.messages.length) return;
    this.loadingOlder = true;
    try {
      const result = await api.get(`${this.url}/messages`, { before: this.messages[0].id });
      this.hasOlder = result.payload.length >= 20;
      const previousHeight = this.list.scrollHeight;
      this.messages = [...result.payload, ...this.messages];
      this.renderMessages();
      this.list.scrollTop = this.list.scrollHeight - previousHeight; // stay where the reader was
    } catch (error) {
      toast(error.message, "error");
    } finally {
      this.loadingOlder = false;
    }
  }

  renderMessages() {
    const reactions = new Map();
    const shown = [];
    for (const message of this.messages) {
      const target = message.content_attributes?.is_reaction ? message.content_attributes.in_reply_to : null;
      if (message.content_attributes?.is_reaction) {
        if (target && message.content) reactions.set(target, [...(reactions.get(target) || []), message.content]);
        continue;
      }
      shown.push(message);
    }
    const byId = new Map(this.messages.map((m) => [m.id, m]));
    const nodes = [];
    let day = null;
    for (const message of shown) {
      const key = dayKey(message.created_at);
      if (key !== day) {
        day = key;
        nodes.push(h("p", { class: "day", role: "separator" }, formatDay(message.created_at)));
      }
      nodes.push(this.messageNode(message, byId, reactions.get(message.id)));
    }
    clear(this.list).append(...nodes);
  }

  messageNode(message, byId, reactions) {
    if (message.message_type === ACTIVITY) {
      return h("p", { class: "msg msg--activity", dataset: { id: message.id } }, message.content, " · ", formatTime(message.created_at));
    }
    const outgoing = message.message_type === OUTGOING || message.message_type === TEMPLATE;
    const kind = message.private ? "note" : outgoing ? "out" : "in";
    const quotedId = message.content_attributes?.in_reply_to;
    const quoted = quotedId ? byId.get(quotedId) : null;
    const sender = message.sender?.available_name || message.sender?.name;
    const children = [];
    if (message.private) children.push(h("span", { class: "msg__label" }, t("Private note")));
    if (sender && kind !== "in") children.push(h("span", { class: "msg__sender" }, sender));
    if (quotedId) {
      children.push(h("blockquote", { class: "msg__quote" }, quoted ? quoted.content || t("Attachment") : t("Reply to an earlier message")));
    }
    for (const attachment of message.attachments || []) children.push(attachmentNode(attachment));
    if (message.content) children.push(h("div", { class: "msg__body" }, message.content));
    if (message.message_type === TEMPLATE || message.additional_attributes?.template_params) {
      children.push(h("span", { class: "msg__sender" }, t("Template: %(name)s", { name: message.additional_attributes?.template_params?.name || "" })));
    }
    const meta = [h("time", { datetime: new Date(message.created_at * 1000).toISOString() }, formatTime(message.created_at))];
    if (outgoing && !message.private) {
      meta.push(h("span", { class: `tick tick--${message.status}`, title: statusTitle(message.status), "aria-label": statusTitle(message.status),
        dataset: { status: message.status } }, TICKS[message.status] || ""));
    }
    children.push(h("div", { class: "msg__meta" }, meta));
    if (message.status === "failed") {
      children.push(h("p", { class: "msg__error", role: "note" }, message.external_error || t("Not delivered")));
    }
    if (reactions?.length) children.push(h("span", { class: "msg__reactions", "aria-label": t("Reactions") }, reactions.join(" ")));
    return h("article", { class: `msg msg--${kind}${reactions?.length ? " msg--has-reactions" : ""}`, dataset: { id: message.id } }, children);
  }

  /** Seconds left in the service window (WhatsApp's 24 hours), as the server computes it (`can_reply`,
   * `reply_window_closes_at`): null when the channel has none, <= 0 when it has closed. */
  windowLeft() {
    const conversation = this.conversation;
    if (!conversation || conversation.reply_window_closes_at == null) return null;
    if (!conversation.can_reply) return 0;
    return conversation.reply_window_closes_at - Date.now() / 1000;
  }

  showWindow() {
    if (this.composer) this.composer.showWindow(this.windowLeft());
  }

  typing(on, isPrivate) {
    if (!this.conversation) return;
    api.post(`${this.url}/toggle_typing_status`, { typing_status: on ? "on" : "off", is_private: isPrivate }).catch(() => {});
  }
}

const STATUS_RANK = { pending: 0, sent: 1, delivered: 2, read: 3, failed: 4 };

function isStale(candidate, current) {
  if (!current) return false;
  if (candidate.updated_at !== current.updated_at) return candidate.updated_at < current.updated_at;
  return (STATUS_RANK[candidate.status] ?? 0) < (STATUS_RANK[current.status] ?? 0);
}

function statusLabel(status) {
  return { open: t("Open"), pending: t("Bot"), snoozed: t("Snoozed"), resolved: t("Resolved") }[status] || status;
}

function statusTitle(status) {
  return { pending: t("Sending"), sent: t("Sent"), delivered: t("Delivered"), read: t("Read"), failed: t("Failed") }[status] || status;
}

function attachmentNode(attachment) {
  const url = attachment.data_url;
  switch (attachment.file_type) {
    case "image":
      return h("a", { href: url, target: "_blank", rel: "noopener" }, h("img", { class: "media", src: attachment.thumb_url || url, alt: t("Image"), loading: "lazy" }));
    case "audio":
      return h("audio", { controls: true, src: url, preload: "none", "aria-label": t("Audio message") });
    case "video":
      return h("video", { controls: true, src: url, preload: "none" });
    case "location": {
      const lat = attachment.coordinates_lat;
      const long = attachment.coordinates_long;
      const href = `https://www.openstreetmap.org/?mlat=${encodeURIComponent(lat)}&mlon=${encodeURIComponent(long)}#map=16/${encodeURIComponent(lat)}/${encodeURIComponent(long)}`;
      return h("a", { class: "media-card", href, target: "_blank", rel: "noopener" }, "📍 ", attachment.fallback_title || t("Location"),
        h("span", { class: "muted" }, `${lat}, ${long}`));
    }
    case "contact": {
      const phones = (attachment.meta?.phones || []).map((p) => p.phone || p.wa_id).filter(Boolean);
      return h("div", { class: "media-card" }, "👤 ", h("strong", {}, attachment.fallback_title || t("Contact card")),
        phones.map((phone) => h("span", {}, phone)));
    }
    default:
      return h("a", { class: "media-card", href: url, target: "_blank", rel: "noopener", download: attachment.meta?.filename || "" },
        "📄 ", attachment.meta?.filename || attachment.fallback_title || t("Document"));
  }
}

// A template's placeholders: {{1}}, {{2}}... or, in named-parameter templates, {{first_name}}.
const PLACEHOLDER = /\{\{\s*(\w+)\s*\}\}/g;
const placeholders = (text) => [...new Set([...String(text || "").matchAll(PLACEHOLDER)].map((match) => match[1]))];
const templatePart = (tpl, type) => (tpl.components || []).find((c) => String(c.type).toUpperCase() === type);
const templateText = (tpl, type) => templatePart(tpl, type)?.text || "";
const MEDIA_HEADERS = { IMAGE: "image", VIDEO: "video", DOCUMENT: "document" };
const MEDIA_HEADER_LABELS = { image: t("Header image link"), video: t("Header video link"), document: t("Header document link") };

/** [index, button] of the template's URL buttons whose link ends in a placeholder: the send fills it in. */
const linkButtons = (tpl) => (templatePart(tpl, "BUTTONS")?.buttons || [])
  .map((button, index) => [index, button])
  .filter(([, button]) => String(button.type).toUpperCase() === "URL" && placeholders(button.url).length > 0);

/** What the send must say about the header: a media link (image, video, document) or text placeholders. */
function templateHeader(tpl) {
  const header = templatePart(tpl, "HEADER");
  const format = String(header?.format || "").toUpperCase();
  return { media: MEDIA_HEADERS[format] || null, placeholders: format === "TEXT" ? placeholders(header.text) : [] };
}

/** The reply box: text or private note, canned responses on "/", emoji, files, templates when the window is closed. */
class Composer {
  constructor(view) {
    this.view = view;
    this.private = false;
    this.files = [];
    this.templateMode = false;
    this.textarea = h("textarea", { rows: "3", maxlength: "10000", "aria-label": t("Message"),
      placeholder: t("Reply… (Enter sends, Shift+Enter new line, / for canned responses)") });
    this.textarea.addEventListener("keydown", (event) => this.onKey(event));
    this.textarea.addEventListener("input", () => this.onInput());
    this.replyButton = h("button", { class: "button button--small", type: "button", "aria-pressed": "true", onclick: () => this.setPrivate(false) }, t("Reply"));
    this.noteButton = h("button", { class: "button button--small", type: "button", "aria-pressed": "false", onclick: () => this.setPrivate(true) }, t("Private note"));
    this.windowLabel = h("span", { class: "composer__window", role: "status" });
    this.fileInput = h("input", { type: "file", multiple: true, hidden: true, onchange: () => this.pickFiles() });
    this.filesLabel = h("span", { class: "composer__files" });
    this.sendButton = h("button", { class: "button button--primary", type: "submit" }, t("Send"));
    this.templateBox = h("div", { class: "template", hidden: true });
    this.popup = null;
    this.form = h("form", { class: "composer__body", onsubmit: (event) => { event.preventDefault(); this.send(); } },
      this.textarea,
      h("div", { class: "composer__row" },
        h("button", { class: "button button--small", type: "button", "aria-label": t("Emoji"), onclick: () => this.toggleEmoji() }, "😀"),
        h("button", { class: "button button--small", type: "button", onclick: () => this.fileInput.click() }, t("Attach")),
        this.fileInput, this.filesLabel,
        h("button", { class: "button button--small", type: "button", "data-action": "templates", onclick: () => this.setTemplateMode(!this.templateMode) }, t("Template")),
        h("span", { class: "spacer" }), this.sendButton));
    this.element = h("div", { class: "composer" }, h("div", { class: "composer__modes" }, this.replyButton, this.noteButton, this.windowLabel),
      this.templateBox, this.form);
  }

  setPrivate(on) {
    this.private = on;
    this.replyButton.setAttribute("aria-pressed", String(!on));
    this.noteButton.setAttribute("aria-pressed", String(on));
    this.element.classList.toggle("composer--note", on);
    this.textarea.placeholder = on ? t("Private note: only agents see it. @name mentions an agent.") : t("Reply… (Enter sends, Shift+Enter new line, / for canned responses)");
    this.showWindow(this.view.windowLeft());
    this.textarea.focus();
  }

  /** While the window is open show the time left; when it closes, switch to templates (notes still work). */
  showWindow(left) {
    if (left === null || left === undefined) {
      this.windowLabel.textContent = "";
      this.closed = false;
    } else if (left > 0) {
      this.windowLabel.textContent = t("Reply window closes in %(time)s", { time: formatDuration(left) });
      this.windowLabel.classList.remove("composer__window--closed");
      this.closed = false;
    } else {
      this.windowLabel.textContent = t("24-hour window closed: send a template");
      this.windowLabel.classList.add("composer__window--closed");
      this.closed = true;
    }
    this.setTemplateMode(this.closed && !this.private ? true : this.templateMode && !this.private, { quiet: true });
  }

  /** The inbox's WhatsApp templates Meta approved (synced from Meta onto the inbox). */
  approvedTemplates() {
    const templates = this.view.inbox?.message_templates || [];
    return templates.filter((tpl) => String(tpl.status || "").toUpperCase() === "APPROVED");
  }

  setTemplateMode(on, { quiet = false } = {}) {
    const templates = this.approvedTemplates();
    if (on && !quiet && !templates.length) {
      toast(t("This inbox has no approved templates."), "error");
      return;
    }
    this.templateMode = on;
    this.templateBox.hidden = !on;
    this.form.hidden = on;
    if (on) this.buildTemplates(templates);
  }

  /** Pick a template, fill its placeholders ({{1}} or {{name}}) and header, see the text, send it. */
  buildTemplates(usable) {
    if (this.templateBox.childElementCount) return;
    const chooser = h("select", { "aria-label": t("Template") }, h("option", { value: "" }, t("Choose a template…")),
      usable.map((tpl, index) => h("option", { value: index }, `${tpl.name} (${tpl.language})`)));
    const fields = h("div", { class: "template__fields" });
    const preview = h("p", { class: "template__preview" });
    const send = h("button", { class: "button button--primary", type: "button", disabled: true }, t("Send template"));
    const back = h("button", { class: "button button--small", type: "button", onclick: () => this.setTemplateMode(false) }, t("Write a message"));
    let chosen = null;
    const inputs = (part) => [...fields.querySelectorAll(`input[data-part="${part}"]`)];
    const valuesOf = (part) => Object.fromEntries(inputs(part).map((input) => [input.name, input.value.trim()]));
    const render = () => {
      if (!chosen) return;
      const values = valuesOf("body");
      preview.textContent = templateText(chosen, "BODY").replace(PLACEHOLDER, (whole, name) => values[name] || whole);
      send.disabled = [...fields.querySelectorAll("input")].some((input) => !input.value.trim());
    };
    const field = (part, name, label, type = "text") => h("label", { class: "field" }, h("span", {}, label),
      h("input", { name, type, required: true, dataset: { part }, oninput: render }));
    chooser.addEventListener("change", () => {
      chosen = usable[Number(chooser.value)] || null;
      clear(fields);
      preview.textContent = "";
      if (!chosen) {
        send.disabled = true;
        return;
      }
      const header = templateHeader(chosen);
      if (header.media) fields.append(field("header", "media_url", MEDIA_HEADER_LABELS[header.media], "url"));
      for (const name of header.placeholders) fields.append(field("header", name, t("Header parameter %(n)s", { n: name })));
      for (const name of placeholders(templateText(chosen, "BODY"))) fields.append(field("body", name, t("Parameter %(n)s", { n: name })));
      for (const [index, button] of linkButtons(chosen)) {
        fields.append(field("button", String(index), t("Link parameter of the button %(title)s", { title: button.text || index + 1 })));
      }
      render();
    });
    send.addEventListener("click", async () => {
      const body = valuesOf("body");
      const expected = placeholders(templateText(chosen, "BODY"));
      // WhatsApp refuses a template whose parameters do not match the approved version: say so before sending.
      if (expected.length !== Object.keys(body).length || Object.values(body).some((value) => !value)) {
        toast(t("This template needs %(count)s parameters.", { count: expected.length }), "error");
        return;
      }
      const header = templateHeader(chosen);
      const headerValues = valuesOf("header");
      const processed = { body };
      if (header.media) processed.header = { media_url: headerValues.media_url, media_type: header.media };
      else if (header.placeholders.length) processed.header = { text: headerValues[header.placeholders[0]] };
      const links = valuesOf("button");
      const dynamic = linkButtons(chosen).map(([index]) => index);
      if (dynamic.length) {
        // Each link value at its button's place; the static buttons before it go empty (nothing to fill in).
        processed.buttons = Array.from({ length: Math.max(...dynamic) + 1 }, (unused, index) =>
          (index in links ? { type: "url", parameter: links[index] } : { type: "quick_reply", parameter: "" }));
      }
      send.disabled = true;
      try {
        await api.post(`${this.view.url}/messages`, {
          content: preview.textContent,
          template_params: { name: chosen.name, language: chosen.language, category: chosen.category, processed_params: processed },
        });
        chooser.value = "";
        chosen = null;
        clear(fields);
        preview.textContent = "";
        await this.view.fetchNewer();
      } catch (error) {
        toast(error.message, "error");
        send.disabled = false;
      }
    });
    this.templateBox.append(h("strong", {}, t("WhatsApp template")), chooser, fields, preview,
      h("div", { class: "composer__row" }, this.closed ? null : back, h("span", { class: "spacer" }), send));
  }

  onKey(event) {
    if (this.popup && this.popupKey(event)) return;
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      this.send();
    }
  }

  onInput() {
    if (!this.view.typingSentAt || Date.now() - this.view.typingSentAt > TYPING_IDLE_MS) {
      this.view.typing(true, this.private);
      this.view.typingSentAt = Date.now();
    }
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
    const term = this.slashTerm();
    if (term !== null) this.showCanned(term);
    else this.closePopup();
  }

  stopTyping() {
    if (this.view.typingSentAt) {
      this.view.typing(false, this.private);
      this.view.typingSentAt = null;
    }
  }

  /** The "/word" being typed before the caret, or null. */
  slashTerm() {
    const match = this.textarea.value.slice(0, this.textarea.selectionStart).match(/(?:^|\s)\/(\S*)$/);
    return match ? match[1] : null;
  }

  async showCanned(term) {
    const asked = (this.cannedAsked = (this.cannedAsked || 0) + 1);
    const found = await api.get(accountPath("/canned_responses"), { search: term }).catch(() => []);
    // Answers to earlier keystrokes arrive late: only the latest, and only while "/word" is still typed.
    if (asked !== this.cannedAsked || this.slashTerm() !== term) return;
    if (!found.length) {
      this.closePopup();
      return;
    }
    this.closePopup();
    this.popupItems = found.slice(0, 8);
    this.popupIndex = 0;
    this.popup = h("ul", { class: "popup", role: "listbox", "aria-label": t("Canned responses") },
      this.popupItems.map((item, index) => h("li", { role: "option", "aria-selected": String(index === 0), dataset: { shortCode: item.short_code },
        onmousedown: (event) => { event.preventDefault(); this.useCanned(item); } },
      h("strong", {}, `/${item.short_code}`), " ", h("span", { class: "muted" }, item.content.slice(0, 80)))));
    this.element.append(this.popup);
  }

  popupKey(event) {
    if (!this.popupItems) return false;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const size = this.popupItems.length;
      this.popupIndex = (this.popupIndex + (event.key === "ArrowDown" ? 1 : size - 1)) % size;
      [...this.popup.children].forEach((li, index) => li.setAttribute("aria-selected", String(index === this.popupIndex)));
      return true;
    }
    if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      this.useCanned(this.popupItems[this.popupIndex]);
      return true;
    }
    if (event.key === "Escape") {
      this.closePopup();
      return true;
    }
    return false;
  }

  useCanned(item) {
    this.cannedAsked = (this.cannedAsked || 0) + 1; // a lookup still in flight must not reopen the list
    const caret = this.textarea.selectionStart;
    const before = this.textarea.value.slice(0, caret).replace(/\/\S*$/, "");
    this.textarea.value = before + item.content + this.textarea.value.slice(caret);
    this.closePopup();
    this.textarea.focus();
  }

  closePopup() {
    this.popup?.remove();
    this.popup = null;
    this.popupItems = null;
  }

  toggleEmoji() {
    if (this.popup) {
      this.closePopup();
      return;
    }
    this.popup = h("div", { class: "popup popup--emoji", role: "dialog", "aria-label": t("Emoji") },
      EMOJI.map((emoji) => h("button", { type: "button", onclick: () => {
        const caret = this.textarea.selectionStart;
        this.textarea.value = this.textarea.value.slice(0, caret) + emoji + this.textarea.value.slice(caret);
        this.closePopup();
        this.textarea.focus();
      } }, emoji)));
    this.element.append(this.popup);
  }

  pickFiles() {
    this.files = [...this.fileInput.files];
    this.filesLabel.textContent = this.files.map((file) => file.name).join(", ");
  }

  async send() {
    const content = this.textarea.value.trim();
    if (!content && !this.files.length) return;
    if (this.closed && !this.private) {
      this.setTemplateMode(true);
      return;
    }
    this.sendButton.disabled = true;
    this.stopTyping();
    try {
      let body = { content, private: this.private };
      if (this.files.length) {
        body = new FormData();
        body.append("content", content);
        body.append("private", String(this.private));
        for (const file of this.files) body.append("attachments[]", file, file.name);
      }
      await api.post(`${this.view.url}/messages`, body);
      this.textarea.value = "";
      this.files = [];
      this.fileInput.value = "";
      this.filesLabel.textContent = "";
      await this.view.fetchNewer();
    } catch (error) {
      toast(error.message, "error");
    } finally {
      this.sendButton.disabled = false;
      this.textarea.focus();
    }
  }
}
