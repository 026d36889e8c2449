// Alerts an agent should not miss: a conversation assigned to them, a qualified lead handed off by the bot
// (with a sound), an @mention in a private note. A browser notification when permitted, a toast always.
import { toast } from "./dom.js";
import { config, t } from "./i18n.js";

export class Notifier {
  constructor(enableButton) {
    this.enableButton = enableButton;
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
    socket.on("assignee.changed", (data) => {
      if (data.assignee_id === config.userId) this.alert(t("Conversation #%(id)s was assigned to you", { id: data.id }), data.id);
    });
    socket.on("notification.created", (data) => {
      if (data.notification_type === "bot_handoff") {
        this.alert(t("Lead handed off by the bot (score %(score)s): conversation #%(id)s", { score: data.lead_score, id: data.conversation_id }),
          data.conversation_id, { sound: true });
      }
    });
    socket.on("message.created", (data) => {
      if (data.private && data.sender_id !== config.userId && mentionsMe(data.content)) {
        this.alert(t("You were mentioned in conversation #%(id)s", { id: data.conversation_id }), data.conversation_id,
          { quiet: currentId() === data.conversation_id });
      }
    });
  }

  alert(text, conversationId, { sound = false, quiet = false } = {}) {
    toast(text);
    if (sound) beep();
    if (quiet || !("Notification" in window) || Notification.permission !== "granted" || document.hasFocus()) return;
    const notification = new Notification(text, { tag: `conversation-${conversationId}` });
    notification.onclick = () => {
      window.focus();
      location.assign(`/app/accounts/${config.accountId}/conversations/${conversationId}`);
    };
  }
}

/** Chatwoot's mention markup `[@Name](mention://user/ID/Name)`, or a plain "@Name" of this agent. */
export function mentionsMe(content) {
  if (!content) return false;
  if (content.includes(`mention://user/${config.userId}/`)) return true;
  const name = (config.userName || "").trim().toLowerCase();
  return Boolean(name) && content.toLowerCase().includes(`@${name}`);
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
