// The side panel: who the customer is, what the bot learned (lead status, score, reasons, answers), editable
// custom attributes, labels, previous conversations and notes.
import { accountPath, api } from "./api.js";
import { clear, h, toast } from "./dom.js";
import { formatDateTime, t } from "./i18n.js";

// The bot writes qualification answers as lead_<field> custom attributes (nexa/bot/qualification.py).
const LEAD_PREFIX = "lead_";
const LEAD_KEYS = new Set(["lead_score", "lead_status"]);

export class ContactPanel {
  constructor(element, openConversation) {
    this.element = element;
    this.openConversation = openConversation;
    this.contactId = null;
  }

  async show(contactId, conversation) {
    this.contactId = contactId;
    this.conversation = conversation;
    try {
      const [contact, conversations, notes, labels] = await Promise.all([
        api.get(accountPath(`/contacts/${contactId}`)),
        api.get(accountPath(`/contacts/${contactId}/conversations`)),
        api.get(accountPath(`/contacts/${contactId}/notes`)),
        api.get(accountPath(`/contacts/${contactId}/labels`)),
      ]);
      if (this.contactId !== contactId) return;
      this.render(contact.payload, conversations.payload, notes, labels.payload);
    } catch (error) {
      toast(error.message, "error");
    }
  }

  reload() {
    if (this.contactId) this.show(this.contactId, this.conversation);
  }

  render(contact, conversations, notes, labels) {
    const attributes = contact.custom_attributes || {};
    const answers = Object.entries(attributes).filter(([key]) => key.startsWith(LEAD_PREFIX) && !LEAD_KEYS.has(key));
    const own = Object.entries(attributes).filter(([key]) => !key.startsWith(LEAD_PREFIX));
    const definition = (pairs) => h("dl", {}, pairs.flatMap(([key, value]) => [h("dt", {}, key), h("dd", {}, value ?? "—")]));
    clear(this.element).append(
      h("section", { class: "panel" },
        h("h2", { class: "visually-hidden" }, t("Contact")),
        h("p", { class: "contact__name" }, contact.name || t("Unnamed contact")),
        definition([[t("Phone"), contact.phone_number], [t("Email"), contact.email]])),
      h("section", { class: "panel", "aria-label": t("Lead") },
        h("h2", {}, t("Lead")),
        h("div", { class: "lead" },
          h("span", { class: "lead__score", "aria-label": t("Lead score") }, contact.lead_score ?? "—"),
          h("span", {}, leadStatus(contact.lead_status))),
        contact.lead_score_reasons?.length ? h("ul", { "aria-label": t("Why this score") }, contact.lead_score_reasons.map((r) => h("li", {}, r))) : null,
        answers.length ? definition(answers.map(([key, value]) => [key.slice(LEAD_PREFIX.length).replaceAll("_", " "), String(value)])) : null),
      this.attributesSection(contact, own),
      h("section", { class: "panel" }, h("h2", {}, t("Labels")),
        h("p", {}, labels.length ? labels.join(", ") : h("span", { class: "muted" }, t("No labels")))),
      h("section", { class: "panel" }, h("h2", {}, t("Previous conversations")),
        h("ul", {}, conversations.filter((c) => c.id !== this.conversation?.id).slice(0, 10).map((c) =>
          h("li", {}, h("a", { href: `#${c.id}`, onclick: (event) => { event.preventDefault(); this.openConversation(c.id); } },
            `#${c.id}`), " ", h("span", { class: "muted" }, `${c.status} · ${formatDateTime(c.last_activity_at)}`))))),
      this.notesSection(notes),
    );
  }

  attributesSection(contact, pairs) {
    const save = async (key, value) => {
      try {
        await api.put(accountPath(`/contacts/${contact.id}`), { custom_attributes: { [key]: value } });
        this.reload();
      } catch (error) {
        toast(error.message, "error");
      }
    };
    const rows = pairs.map(([key, value]) => {
      const input = h("input", { value: typeof value === "object" ? JSON.stringify(value) : String(value), "aria-label": key });
      return h("form", { onsubmit: (event) => { event.preventDefault(); save(key, input.value); } },
        h("label", { class: "muted" }, key), input,
        h("button", { class: "button button--small", type: "submit" }, t("Save")),
        h("button", { class: "button button--small", type: "button", "aria-label": t("Remove %(name)s", { name: key }),
          onclick: async () => {
            try {
              await api.post(accountPath(`/contacts/${contact.id}/destroy_custom_attributes`), { custom_attributes: [key] });
              this.reload();
            } catch (error) {
              toast(error.message, "error");
            }
          } }, "×"));
    });
    const newKey = h("input", { placeholder: t("Attribute"), "aria-label": t("New attribute name"), maxlength: "64" });
    const newValue = h("input", { placeholder: t("Value"), "aria-label": t("New attribute value") });
    const add = h("form", { onsubmit: (event) => {
      event.preventDefault();
      if (newKey.value.trim()) save(newKey.value.trim(), newValue.value);
    } }, newKey, newValue, h("button", { class: "button button--small", type: "submit" }, t("Add")));
    return h("section", { class: "panel" }, h("h2", {}, t("Attributes")), rows, add);
  }

  notesSection(notes) {
    const input = h("textarea", { rows: "2", "aria-label": t("New note"), placeholder: t("Add a note about this contact") });
    const form = h("form", { onsubmit: async (event) => {
      event.preventDefault();
      if (!input.value.trim()) return;
      try {
        await api.post(accountPath(`/contacts/${this.contactId}/notes`), { content: input.value.trim() });
        this.reload();
      } catch (error) {
        toast(error.message, "error");
      }
    } }, input, h("button", { class: "button button--small", type: "submit" }, t("Add note")));
    return h("section", { class: "panel" }, h("h2", {}, t("Notes")),
      h("ul", {}, notes.map((note) => h("li", {}, note.content, " ",
        h("span", { class: "muted" }, `${note.user?.name || ""} · ${formatDateTime(note.created_at)}`)))),
      form);
  }
}

function leadStatus(status) {
  return { new: t("New lead"), qualified: t("Qualified"), in_service: t("In service"), converted: t("Converted"),
    lost: t("Lost") }[status] || status || "";
}
