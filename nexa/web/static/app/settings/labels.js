// Settings > Labels.
import { api, accountPath } from "/static/app/js/api.js";
import { h } from "/static/app/js/dom.js";
import { t } from "/static/app/js/i18n.js";
import { crudSection } from "./forms.js";

crudSection({
  form: document.querySelector('[data-form="label"]'),
  list: document.querySelector('[data-list="label"]'),
  path: "/labels",
  load: async () => (await api.get(accountPath("/labels"))).payload,
  describe: (label) => [
    h("span", { class: "settings__swatch", style: `background:${label.color}`, "aria-hidden": "true" }),
    h("strong", {}, label.title),
    label.description ? h("span", { class: "muted" }, label.description) : null,
  ],
  nameOf: (label) => label.title,
  emptyText: t("No labels yet."),
  deleteQuestion: t("Delete this label? Conversations lose it."),
  defaults: { color: "#1f93ff", show_on_sidebar: true },
});
