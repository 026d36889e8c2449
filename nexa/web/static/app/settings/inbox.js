// Settings > one inbox: how to connect it, its settings and channel settings, its agents; delete.
import { api, accountPath } from "/static/app/js/api.js";
import { clear, toast } from "/static/app/js/dom.js";
import { config, formatDateTime, t, tn } from "/static/app/js/i18n.js";
import { bindForm, deleteButton, fillForm } from "./forms.js";
import { channelName, connectionDetails, showChannel } from "./channels.js";
import { membersEditor } from "./members.js";

const path = accountPath(`/inboxes/${config.inboxId}`);
const form = document.querySelector('[data-form="inbox"]');
const setup = document.querySelector('[data-action="setup-webhook"]');
const templatesCard = document.querySelector("[data-templates]");
const syncTemplates = document.querySelector('[data-action="sync-templates"]');
// Evolution and Telegram are told the callback URL by Nexa itself; Meta's console needs it pasted.
const SELF_CONNECTING = new Set(["evolution", "telegram"]);

function show(inbox) {
  document.querySelector("[data-title]").textContent = `${inbox.name} · ${channelName(inbox.provider)}`;
  showChannel(form, inbox.provider);
  fillForm(form, inbox);
  for (const secret of form.querySelectorAll("[data-secret]")) {
    secret.required = false;
    secret.value = "";
    secret.placeholder = inbox.credentials_set.includes(secret.name.split(".").pop()) ? t("(unchanged)") : "";
  }
  clear(document.querySelector("[data-connect]")).append(connectionDetails(inbox));
  setup.hidden = !SELF_CONNECTING.has(inbox.provider);
  showTemplates(inbox);
}

/** WhatsApp Cloud: how many templates Meta lists (approved among them), when they were synced, why not. */
function showTemplates(inbox) {
  templatesCard.hidden = inbox.provider !== "whatsapp_cloud";
  const templates = inbox.message_templates || [];
  const approved = templates.filter((tpl) => String(tpl.status || "").toUpperCase() === "APPROVED").length;
  templatesCard.querySelector("[data-templates-summary]").textContent = inbox.message_templates_last_updated
    ? `${tn("%(num)s template", "%(num)s templates", templates.length)} · ${tn("%(num)s approved", "%(num)s approved", approved)} · ${
      t("last synced %(when)s", { when: formatDateTime(inbox.message_templates_last_updated) })}`
    : t("Not synced yet.");
  const error = templatesCard.querySelector("[data-templates-error]");
  error.textContent = inbox.message_templates_sync_error ? t("The last sync failed: %(reason)s", { reason: inbox.message_templates_sync_error }) : "";
  error.hidden = !inbox.message_templates_sync_error;
}

// The sync runs in a job: look at the inbox again a few times until it shows a newer attempt.
const SYNC_POLLS = 10;
const SYNC_POLL_MS = 1000;

async function syncedInbox(before) {
  for (let poll = 0; poll < SYNC_POLLS; poll += 1) {
    await new Promise((resolve) => setTimeout(resolve, SYNC_POLL_MS));
    const inbox = await api.get(path);
    const changed = inbox.message_templates_last_updated !== before.message_templates_last_updated
      || inbox.message_templates_sync_error !== before.message_templates_sync_error;
    if (changed) return inbox;
  }
  return null;
}

async function start() {
  const inbox = await api.get(path);
  show(inbox);
  const members = await api.get(accountPath(`/inbox_members/${inbox.id}`));
  document.querySelector("[data-members]").append(await membersEditor(members.payload.map((m) => m.id), async (userIds) => {
    await api.patch(accountPath("/inbox_members"), { inbox_id: inbox.id, user_ids: userIds });
    toast(t("Saved."));
  }, t("Agents")));
}

setup.addEventListener("click", async () => {
  setup.disabled = true;
  try {
    await api.post(`${path}/setup_webhook`);
    toast(t("The provider now sends this inbox's messages here."));
  } catch (failure) {
    toast(failure.message, "error");
  } finally {
    setup.disabled = false;
  }
});
syncTemplates.addEventListener("click", async () => {
  syncTemplates.disabled = true;
  try {
    const before = await api.get(path);
    await api.post(`${path}/sync_templates`);
    toast(t("Syncing templates with Meta…"));
    const after = await syncedInbox(before);
    if (after) showTemplates(after);
  } catch (failure) {
    toast(failure.message, "error");
  } finally {
    syncTemplates.disabled = false;
  }
});
bindForm(form, (values) => api.patch(path, values), (inbox) => {
  show(inbox);
  toast(t("Saved."));
});
document.querySelector("[data-delete]").append(deleteButton(path,
  t("Delete this inbox with all its conversations? Contacts stay."),
  () => location.assign(`/app/accounts/${config.accountId}/settings/inboxes`)));
start().catch((failure) => {
  const error = document.querySelector("[data-load-error]");
  error.textContent = failure.status === 404 ? t("This inbox does not exist (any more).") : failure.message;
  error.hidden = false;
});
