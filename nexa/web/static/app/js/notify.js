// Alerts an agent should not miss. The server stores them (docs/notifications.md) and sends
// `notification.created` to this user only: a conversation assigned to them, a qualified lead the bot handed
// them (with a sound), an @mention in a private note. Every agent of the inbox also hears, with a sound, that
// the bot handed a lead off. A browser notification when permitted, a toast always; the bell lists the stored
// notifications with the unread count and marks them read.
import { accountPath, api } from "./api.js";
import { clear, h, toast } from "./dom.js";
import { config, formatDateTime, t } from "./i18n.js";

const PAGE = accountPath("/notifications");
// A handoff and the assignment that follows it are one event for the ear: one sound per conversation.
const SOUND_GAP_MS = 15000;
// An agent coming online may be handed the whole queue at once: past a few alerts in a burst, only the bell
// counts them.
const BURST_MS = 3000;
const BURST_ALERTS = 3;

/** What a stored notification says, in this page's language. */
function describe(notification) {
  const id = notification.primary_actor_id;
  switch (notification.notification_type) {
    case "conversation_assignment":
      return t("Conversation #%(id)s was assigned to you", { id });
    case "qualified_lead_handoff":
      return t("The bot handed you a qualified lead: conversation #%(id)s", { id });
    case "conversation_mention":
      return t("You were mentioned in conversation #%(id)s", { id });
    default:
      return notification.push_message_title;
  }
}

const conversationUrl = (displayId) => `/app/accounts/${config.accountId}/conversations/${displayId}`;

export class Notifier {
  constructor(enableButton, bellRoot = document.querySelector("[data-notifications]")) {
    this.enableButton = enableButton;
    this.lastSound = new Map(); // conversation id -> when its sound played
    this.recentAlerts = []; // when the alerts of the current burst were shown
    this.bell = bellRoot ? new Bell(bellRoot) : null;
    if ("Notification" in window && Notification.permission === "default" && enableButton) {
      // Browsers only ask after a user gesture: a button, not a prompt on page load.
      enableButton.hidden = false;
      enableButton.addEventListener("click", async () => {
        await Notification.requestPermission();
        enableButton.hidden = true;
      });
    }
  }

  listen(socket, currentId) {
    socket.on("notification.created", (data) => {
      // The user's channel carries every account they belong to; this page shows one.
      if (data.account_id !== config.accountId) return;
      if (data.notification) {
        const notification = data.notification;
        this.bell?.added(notification, data.unread_count);
        this.alert(describe(notification), notification.primary_actor_id, {
          sound: notification.notification_type === "qualified_lead_handoff",
          quiet: notification.notification_type === "conversation_mention" && currentId() === notification.primary_actor_id,
        });
      } else if (data.notification_type === "bot_handoff") {
        this.alert(t("Lead handed off by the bot (score %(score)s): conversation #%(id)s", { score: data.lead_score, id: data.conversation_id }),
          data.conversation_id, { sound: true });
      }
    });
    for (const name of ["notification.updated", "notification.deleted"]) {
      socket.on(name, (data) => {
        if (data.account_id === config.accountId) this.bell?.changed(data);
      });
    }
    socket.on("resync", () => this.bell?.load());
    this.bell?.load();
  }

  alert(text, conversationId, { sound = false, quiet = false } = {}) {
    const now = Date.now();
    this.recentAlerts = [...this.recentAlerts.filter((at) => now - at < BURST_MS), now];
    if (this.recentAlerts.length > BURST_ALERTS) return;
    toast(text);
    if (sound && Date.now() - (this.lastSound.get(conversationId) || 0) > SOUND_GAP_MS) {
      this.lastSound.set(conversationId, Date.now());
      beep();
    }
    if (quiet || !("Notification" in window) || Notification.permission !== "granted" || document.hasFocus()) return;
    // One tag per conversation: a newer alert about it replaces the older one instead of stacking.
    const notification = new Notification(text, { tag: `conversation-${conversationId}` });
    notification.onclick = () => {
      window.focus();
      location.assign(conversationUrl(conversationId));
    };
  }
}

/** The bell: the unread count, and a panel listing the newest notifications; opening one marks it read. */
class Bell {
  constructor(root) {
    this.root = root;
    this.button = root.querySelector('[data-action="toggle-notifications"]');
    this.count = root.querySelector("[data-unread]");
    this.panel = root.querySelector(".notifications__panel");
    this.items = root.querySelector(".notifications__items");
    this.empty = root.querySelector(".notifications__empty");
    this.notifications = [];
    this.unread = 0;
    this.button.addEventListener("click", () => this.toggle(this.panel.hidden));
    root.querySelector('[data-action="read-all-notifications"]').addEventListener("click", () => this.readAll());
    root.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !this.panel.hidden) {
        this.toggle(false);
        this.button.focus();
      }
    });
    document.addEventListener("click", (event) => {
      if (!this.panel.hidden && !root.contains(event.target)) this.toggle(false);
    });
  }

  async load() {
    try {
      const { data } = await api.get(PAGE);
      this.notifications = data.payload;
      this.setUnread(data.meta.unread_count);
      this.render();
    } catch (error) {
      toast(error.message, "error");
    }
  }

  added(notification, unreadCount) {
    this.notifications = [notification, ...this.notifications.filter((n) => n.id !== notification.id)];
    this.setUnread(unreadCount);
    this.render();
  }

  /** Another tab (or client) read or deleted one: take the server's counts and its version of the row. */
  changed(data) {
    const id = data.notification.id;
    this.notifications = data.notification.notification_type
      ? this.notifications.map((n) => (n.id === id ? data.notification : n))
      : this.notifications.filter((n) => n.id !== id);
    this.setUnread(data.unread_count);
    this.render();
  }

  setUnread(count) {
    this.unread = count;
    this.count.textContent = String(count);
    this.count.hidden = count === 0;
    this.button.setAttribute("aria-label", t("Notifications (%(count)s unread)", { count }));
  }

  toggle(open) {
    this.panel.hidden = !open;
    this.button.setAttribute("aria-expanded", String(open));
  }

  render() {
    clear(this.items);
    this.empty.hidden = this.notifications.length > 0;
    for (const notification of this.notifications) {
      const unread = !notification.read_at;
      const sender = notification.primary_actor.meta.sender;
      const details = [sender && sender.name, formatDateTime(notification.created_at)].filter(Boolean).join(" · ");
      this.items.append(h("li", { class: `notifications__item${unread ? " notifications__item--unread" : ""}` },
        h("a", { href: conversationUrl(notification.primary_actor_id), onclick: (event) => this.open(event, notification) },
          h("span", { class: "notifications__text" }, describe(notification)),
          notification.notification_type === "conversation_mention"
            ? h("span", { class: "notifications__quote" }, notification.push_message_title) : null,
          h("span", { class: "notifications__details muted" }, details),
          unread ? h("span", { class: "visually-hidden" }, t("Unread")) : null)));
    }
  }

  async open(event, notification) {
    event.preventDefault();
    this.toggle(false);
    if (!notification.read_at) {
      try {
        const read = await api.patch(`${PAGE}/${notification.id}`);
        // The socket's notification.updated may have come first and counted it already.
        if (!this.notifications.find((n) => n.id === read.id)?.read_at) this.setUnread(Math.max(0, this.unread - 1));
        this.notifications = this.notifications.map((n) => (n.id === read.id ? read : n));
        this.render();
      } catch (error) {
        toast(error.message, "error");
      }
    }
    // The inbox opens the conversation named by the address without reloading the page (its popstate listener).
    history.pushState({ displayId: notification.primary_actor_id }, "", conversationUrl(notification.primary_actor_id));
    window.dispatchEvent(new PopStateEvent("popstate", { state: { displayId: notification.primary_actor_id } }));
  }

  async readAll() {
    try {
      await api.post(`${PAGE}/read_all`);
      const now = new Date().toISOString();
      this.notifications = this.notifications.map((n) => (n.read_at ? n : { ...n, read_at: now }));
      this.setUnread(0);
      this.render();
    } catch (error) {
      toast(error.message, "error");
    }
  }
}

let audio = null;
function beep() {
  try {
    audio = audio || new AudioContext();
    const oscillator = audio.createOscillator();
    const gain = audio.createGain();
    oscillator.frequency.value = 880;
    gain.gain.setValueAtTime(0.15, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
    oscillator.connect(gain).connect(audio.destination);
    oscillator.start();
    oscillator.stop(audio.currentTime + 0.4);
  } catch {
    // No audio device or autoplay blocked: the toast and notification still show.
  }
}
