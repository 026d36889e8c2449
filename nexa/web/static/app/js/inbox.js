// The inbox page: the conversation list (tabs, filters, search, infinite scroll, live updates, bulk actions)
// and the keyboard shortcuts; the open conversation is conversation.js, the side panel contact.js.
import { accountPath, api } from "./api.js";
import { bulkActionBody } from "./bulk.js";
import { ConversationView } from "./conversation.js";
import { clear, h, toast } from "./dom.js";
import { config, formatDuration, formatTime, dayKey, formatDateTime, t } from "./i18n.js";
import { Notifier } from "./notify.js";
import { realtime } from "./realtime.js";

const root = document.querySelector(".inbox");
const itemsList = root.querySelector(".list__items");
const empty = root.querySelector(".list__empty");
const filtersForm = root.querySelector('[data-form="filters"]');
const bulkBar = root.querySelector(".list__bulk");

// Chatwoot's channel classes -> a short visible name (the channel "icon": text, so it is translatable and accessible).
const CHANNEL_LABELS = {
  "Channel::Whatsapp": "WhatsApp",
  "Channel::Telegram": "Telegram",
  "Channel::WebWidget": "Web",
  "Channel::Api": "API",
  "Channel::Email": "Email",
  "Channel::Sms": "SMS",
};

const PAGE_SIZE = 25; // the API's page size (nexa/conversations/endpoints.py)

const state = {
  tab: "me",
  filters: { status: "open", sort_by: "", inbox_id: "", team_id: "", label: "", priority: "", q: "" },
  conversations: [],
  page: 0,
  hasMore: true,
  loading: false,
  selected: new Set(),
  currentId: config.conversationDisplayId || null,
  generation: 0, // a newer query makes answers to older ones stale
};

/** Reference data the whole page shares: inboxes, agents, teams, labels. */
export const refs = { inboxes: new Map(), agents: [], teams: [], labels: [] };

async function loadReferences() {
  const [inboxes, agents, teams, labels] = await Promise.all([
    api.get(accountPath("/inboxes")),
    api.get(accountPath("/agents")),
    api.get(accountPath("/teams")),
    api.get(accountPath("/labels")),
  ]);
  for (const inbox of inboxes.payload) refs.inboxes.set(inbox.id, inbox);
  refs.agents = agents;
  refs.teams = teams;
  refs.labels = labels.payload;
  fillSelect(filtersForm.inbox_id, inboxes.payload.map((i) => [i.id, i.name]));
  fillSelect(filtersForm.team_id, teams.map((team) => [team.id, team.name]));
  fillSelect(filtersForm.label, labels.payload.map((l) => [l.title, l.title]));
  fillSelect(bulkBar.querySelector('[data-bulk="assign"]'), agents.map((a) => [a.id, a.available_name || a.name]));
  fillSelect(bulkBar.querySelector('[data-bulk="team"]'), teams.map((team) => [team.id, team.name]));
  for (const action of ["label-add", "label-remove"]) {
    fillSelect(bulkBar.querySelector(`[data-bulk="${action}"]`), labels.payload.map((l) => [l.title, l.title]));
  }
}

function fillSelect(select, options) {
  for (const [value, label] of options) select.append(h("option", { value }, label));
}

function query(page) {
  const { status, sort_by, inbox_id, team_id, label, priority, q } = state.filters;
  const params = { assignee_type: state.tab, status, sort_by, inbox_id, team_id, priority, q, page };
  if (label) params["labels[]"] = label;
  return params;
}

/** Page 1 again (filters changed, or something happened): keeps later pages' items that are still unknown. */
async function reload({ keep = false } = {}) {
  const generation = ++state.generation;
  state.loading = true;
  itemsList.setAttribute("aria-busy", "true");
  try {
    const result = await api.get(accountPath("/conversations"), query(1));
    if (generation !== state.generation) return;
    const fresh = result.data.payload;
    const freshIds = new Set(fresh.map((c) => c.id));
    // Items of later pages stay until scrolled to again; page 1's slice is replaced by what the server says now.
    const rest = keep ? state.conversations.slice(PAGE_SIZE).filter((c) => !freshIds.has(c.id)) : [];
    state.conversations = [...fresh, ...rest];
    state.page = keep ? Math.max(state.page, 1) : 1;
    state.hasMore = fresh.length >= PAGE_SIZE;
    showCounts(result.data.meta);
    render();
  } catch (error) {
    toast(error.message, "error");
  } finally {
    if (generation === state.generation) {
      state.loading = false;
      itemsList.setAttribute("aria-busy", "false");
    }
  }
}

async function loadMore() {
  if (state.loading || !state.hasMore) return;
  state.loading = true;
  const generation = state.generation;
  try {
    const result = await api.get(accountPath("/conversations"), query(state.page + 1));
    if (generation !== state.generation) return;
    const known = new Set(state.conversations.map((c) => c.id));
    state.conversations.push(...result.data.payload.filter((c) => !known.has(c.id)));
    state.page += 1;
    state.hasMore = result.data.payload.length >= PAGE_SIZE;
    render();
  } catch (error) {
    toast(error.message, "error");
  } finally {
    state.loading = false;
  }
}

function showCounts(meta) {
  for (const element of root.querySelectorAll("[data-count]")) element.textContent = meta[element.dataset.count] ?? 0;
}

function render() {
  clear(itemsList).append(...state.conversations.map(item));
  empty.hidden = state.conversations.length > 0;
  updateBulk();
  // A tall screen shows the whole first page without scrolling: fetch more until it can scroll.
  if (state.hasMore && !state.loading && itemsList.scrollHeight <= itemsList.clientHeight) setTimeout(loadMore);
}

function item(conversation) {
  const contact = conversation.meta.sender;
  const last = conversation.last_non_activity_message;
  const now = Date.now() / 1000;
  const preview = last ? (last.private ? `🔒 ${last.content || ""}` : last.content || (last.attachments?.length ? t("Attachment") : "")) : "";
  const tags = [];
  if (conversation.waiting_since && conversation.status === "open") {
    tags.push(h("span", { class: "chip chip--waiting", title: t("Waiting since %(time)s", { time: formatDateTime(conversation.waiting_since) }) },
      t("Waiting %(time)s", { time: formatDuration(now - conversation.waiting_since) })));
  }
  // The account's assignment queue, ranked by the server (not only among the rows loaded here).
  if (conversation.queue_position) {
    tags.push(h("span", { class: "chip" }, t("Queue #%(position)s", { position: conversation.queue_position })));
  }
  if (conversation.priority) tags.push(h("span", { class: `chip chip--${conversation.priority}` }, t(capitalize(conversation.priority))));
  if (conversation.status === "pending") tags.push(h("span", { class: "chip" }, t("Bot")));
  if (conversation.meta.assignee) tags.push(h("span", { class: "chip" }, conversation.meta.assignee.available_name || conversation.meta.assignee.name));
  if (conversation.muted) tags.push(h("span", { class: "chip" }, t("Muted")));
  for (const label of conversation.labels) tags.push(h("span", { class: "chip" }, label));
  const url = `/app/accounts/${config.accountId}/conversations/${conversation.id}`;
  const checkbox = h("input", {
    type: "checkbox", class: "item__select", "aria-label": t("Select conversation %(id)s", { id: conversation.id }),
    onchange: (event) => {
      if (event.target.checked) state.selected.add(conversation.id);
      else state.selected.delete(conversation.id);
      updateBulk();
    },
  });
  checkbox.checked = state.selected.has(conversation.id);
  const li = h("li", { class: "item", dataset: { id: conversation.id }, "aria-current": String(conversation.id === state.currentId) },
    checkbox,
    h("a", { class: "item__main", href: url, onclick: (event) => { event.preventDefault(); open(conversation.id); } },
      h("span", { class: "item__name" },
        h("span", { class: "channel" }, CHANNEL_LABELS[conversation.meta.channel] || conversation.meta.channel.replace("Channel::", "")),
        contact.name || contact.phone_number || contact.email || `#${conversation.id}`),
      h("span", { class: "item__preview" }, preview)),
    h("span", { class: "item__side" },
      h("time", { datetime: new Date(conversation.last_activity_at * 1000).toISOString() },
        dayKey(conversation.last_activity_at) === dayKey(now) ? formatTime(conversation.last_activity_at) : formatDateTime(conversation.last_activity_at)),
      conversation.unread_count ? h("span", { class: "badge", "aria-label": t("%(count)s unread", { count: conversation.unread_count }) }, conversation.unread_count) : null),
    tags.length ? h("span", { class: "item__tags" }, tags) : null);
  return li;
}

const capitalize = (text) => text.charAt(0).toUpperCase() + text.slice(1);

function updateBulk() {
  bulkBar.hidden = state.selected.size === 0;
  bulkBar.querySelector(".list__bulk-count").textContent = t("%(count)s selected", { count: state.selected.size });
}

// One request for the whole selection: the server checks it all (a refusal changes nothing) and changes the
// conversations in a job; the list follows through the live events each change sends.
async function bulk(action, value) {
  try {
    await api.post(accountPath("/bulk_actions"), bulkActionBody(state.selected, action, value));
  } catch (error) {
    toast(error.message, "error");
    return;
  }
  state.selected.clear();
  render(); // unchecks the items and hides the bar
}

bulkBar.querySelector('[data-bulk="resolve"]').addEventListener("click", () => bulk("resolve"));
// Assignee, team, a label to add or remove, a snooze: each select acts once an option is picked, then resets.
for (const select of bulkBar.querySelectorAll("select[data-bulk]")) {
  select.addEventListener("change", () => {
    const { value } = select;
    select.value = "";
    if (value) bulk(select.dataset.bulk, value);
  });
}

// --- tabs, filters, search ----------------------------------------------------------------------------------
for (const tab of root.querySelectorAll("[data-tab]")) {
  tab.addEventListener("click", () => {
    state.tab = tab.dataset.tab;
    for (const other of root.querySelectorAll("[data-tab]")) other.setAttribute("aria-selected", String(other === tab));
    reload();
  });
}
filtersForm.addEventListener("change", (event) => {
  if (event.target.name === "q") return;
  state.filters[event.target.name] = event.target.value;
  reload();
});
let searchTimer;
filtersForm.q.addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => {
    state.filters.q = filtersForm.q.value.trim();
    reload();
  }, 250);
});
filtersForm.addEventListener("submit", (event) => event.preventDefault());

// Infinite scroll: near the end of the list -> next page.
itemsList.addEventListener("scroll", () => {
  if (itemsList.scrollTop + itemsList.clientHeight >= itemsList.scrollHeight - 80) loadMore();
});

// --- the open conversation --------------------------------------------------------------------------------
const view = new ConversationView(root, refs, {
  onBack: () => {
    root.dataset.open = "list";
    history.pushState({}, "", `/app/accounts/${config.accountId}/conversations`);
  },
  onChanged: () => scheduleReload(),
});

function open(displayId, { push = true } = {}) {
  state.currentId = displayId;
  root.dataset.open = "conversation";
  for (const li of itemsList.children) li.setAttribute("aria-current", String(Number(li.dataset.id) === displayId));
  if (push) history.pushState({ displayId }, "", `/app/accounts/${config.accountId}/conversations/${displayId}`);
  view.open(displayId);
  const known = state.conversations.find((c) => c.id === displayId);
  if (known) {
    known.unread_count = 0;
    itemsList.querySelector(`[data-id="${displayId}"] .badge`)?.remove();
  }
}

window.addEventListener("popstate", () => {
  const match = location.pathname.match(/\/conversations\/(\d+)$/);
  if (match) open(Number(match[1]), { push: false });
  else root.dataset.open = "list";
});

function step(offset) {
  if (!state.conversations.length) return;
  const index = state.conversations.findIndex((c) => c.id === state.currentId);
  const next = state.conversations[Math.min(state.conversations.length - 1, Math.max(0, index + offset))];
  if (next && next.id !== state.currentId) open(next.id);
}

// Shortcuts (Alt so they work while typing): Alt+↓/↑ next/previous, Alt+R resolve, Alt+M assign to me.
document.addEventListener("keydown", (event) => {
  if (!event.altKey || event.ctrlKey || event.metaKey) return;
  const actions = {
    ArrowDown: () => step(1),
    ArrowUp: () => step(-1),
    r: () => view.resolve(),
    m: () => view.assignToMe(),
  };
  const action = actions[event.key] || actions[event.key.toLowerCase()] || (event.code === "KeyR" ? actions.r : event.code === "KeyM" ? actions.m : null);
  if (action) {
    event.preventDefault();
    action();
  }
});

// --- live updates -----------------------------------------------------------------------------------------
let reloadTimer;
function scheduleReload() {
  // Bursts of events (a message, its status, the assignment) become one refetch.
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(() => reload({ keep: true }), 300);
}

const socket = realtime();
for (const name of ["conversation.created", "conversation.status_changed", "conversation.updated", "assignee.changed",
  "team.changed", "conversation.read", "message.created", "conversation.contact_changed"]) {
  socket.on(name, scheduleReload);
}
socket.on("resync", () => {
  scheduleReload();
  view.refresh();
});
const notifier = new Notifier(root.querySelector('[data-action="enable-notifications"]'));
notifier.listen(socket, () => state.currentId);

setInterval(() => {
  if (document.visibilityState === "visible") render();
}, 60000); // waiting times tick

await loadReferences().catch((error) => toast(error.message, "error"));
await reload();
if (state.currentId) open(state.currentId, { push: false });
