// Settings forms: read a form into the JSON the API takes, submit it, show the API's error in the form.
//
// Field names are paths into the body: name="channel_config.widget_color" -> {channel_config: {widget_color}}.
// A checkbox is a boolean, unless it has data-list: then the checked values of that name form an array
// (numbers with data-int). data-type="number" sends a number. Empty fields are left out (a PATCH keeps
// the stored value; a secret is never blanked by an untouched field), unless data-keep-empty: then "" is sent
// (branding: "" puts back the default). Disabled fields, and those in a disabled fieldset, are skipped.
// A color field cannot be empty, so one marked data-optional is sent only once the admin picked a color
// (or the record had one): the web chat's color otherwise stays unset and follows the brand.
import { api, accountPath } from "/static/app/js/api.js";
import { h, clear, toast } from "/static/app/js/dom.js";
import { t } from "/static/app/js/i18n.js";

function setPath(target, path, value) {
  const keys = path.split(".");
  let node = target;
  for (const key of keys.slice(0, -1)) node = node[key] ??= {};
  node[keys[keys.length - 1]] = value;
}

function getPath(source, path) {
  return path.split(".").reduce((node, key) => (node == null ? undefined : node[key]), source);
}

export function formValues(form) {
  const values = {};
  for (const field of form.elements) {
    if (!field.name || field.matches(":disabled") || field.type === "submit" || field.type === "button") continue;
    if (field.type === "checkbox" && "list" in field.dataset) {
      const list = getPath(values, field.name) ?? [];
      if (field.checked) list.push("int" in field.dataset ? Number(field.value) : field.value);
      setPath(values, field.name, list);
    } else if (field.type === "checkbox") {
      setPath(values, field.name, field.checked);
    } else if (field.type === "color" && "optional" in field.dataset && !("touched" in field.dataset)) {
      continue;
    } else if (field.type === "radio") {
      if (field.checked) setPath(values, field.name, field.value);
    } else {
      const raw = field.value.trim();
      if (raw === "" && !("keepEmpty" in field.dataset)) continue;
      setPath(values, field.name, field.dataset.type === "number" && raw !== "" ? Number(raw) : raw);
    }
  }
  return values;
}

/** Put `record`'s values into the form's fields (for editing); secrets are never in a record. */
export function fillForm(form, record) {
  for (const field of form.elements) {
    if (!field.name) continue;
    const value = getPath(record, field.name);
    if (field.type === "color") {
      // "" is not a color: without one the field keeps its default, and an optional one stays unsent.
      if (value == null) delete field.dataset.touched;
      else field.dataset.touched = "";
      if (value == null) continue;
    }
    if (field.type === "checkbox" && "list" in field.dataset) {
      field.checked = Array.isArray(value) && value.map(String).includes(field.value);
    } else if (field.type === "checkbox") {
      field.checked = Boolean(value);
    } else if (field.type !== "password" && field.type !== "submit") {
      field.value = value ?? "";
    }
  }
}

/**
 * On submit: send(values) (an API call), then done(result). The API's refusal is shown in the form's
 * .form__error (role=alert) and the first field it names gets the focus.
 */
export function bindForm(form, send, done) {
  const error = form.querySelector(".form__error");
  form.addEventListener("input", (event) => {
    if (event.target.type === "color") event.target.dataset.touched = "";
  });
  form.addEventListener("reset", () => {
    for (const color of form.querySelectorAll('input[type="color"]')) delete color.dataset.touched;
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector('[type="submit"]');
    if (error) error.hidden = true;
    if (button) button.disabled = true;
    try {
      const result = await send(formValues(form));
      await done(result);
    } catch (failure) {
      if (!error) throw failure;
      error.textContent = failure.message;
      error.hidden = false;
      const named = failure.body?.attributes?.[0];
      form.querySelector(`[name="${CSS.escape(named || "")}"], [name$=".${CSS.escape(named || "")}"]`)?.focus();
    } finally {
      if (button) button.disabled = false;
    }
  });
}

/** "Edit" -> "Edit: vip" for screen readers, where a list repeats the same button on every row. */
export const named = (label, name) => (name ? `${label}: ${name}` : label);

/** A button that deletes `path` after the admin confirms, then calls done(). `name`: the record's. */
export function deleteButton(path, question, done, { label = t("Delete"), name } = {}) {
  return h("button", {
    type: "button", class: "button button--small button--danger", "aria-label": named(label, name),
    onclick: async () => {
      if (!window.confirm(question)) return;
      try {
        await api.delete(path);
        toast(t("Deleted."));
        await done();
      } catch (failure) {
        toast(failure.message, "error");
      }
    },
  }, label);
}

/** Fill `container` with one element per item, or the empty text. */
export function renderList(container, items, row, emptyText) {
  clear(container);
  if (!items.length) {
    container.append(h("p", { class: "muted settings__empty" }, emptyText));
    return;
  }
  container.append(...items.map(row));
}

/** Show a load failure where the list would be. */
export function showLoadError(container, failure) {
  clear(container).append(h("p", { class: "form__error", role: "alert" }, failure.message));
}

/** Add the account's inboxes as options of `select` (e.g. "only events of this inbox"). */
export async function loadInboxChoices(select) {
  const { payload } = await api.get(accountPath("/inboxes"));
  select.append(...payload.map((inbox) => h("option", { value: inbox.id }, inbox.name)));
}

/** A read-only value with a copy button (callback URLs, tokens, the widget snippet). */
export function copyable(label, value, { multiline = false } = {}) {
  const id = `copy-${Math.random().toString(36).slice(2)}`;
  const field = multiline
    ? h("textarea", { id, readonly: true, rows: 3, class: "settings__copy-value" }, value)
    : h("input", { id, readonly: true, value, class: "settings__copy-value" });
  return h("div", { class: "field settings__copy" },
    h("label", { for: id }, label),
    h("div", { class: "settings__copy-row" }, field,
      h("button", {
        type: "button", class: "button button--small",
        onclick: async () => {
          field.select();
          try {
            await navigator.clipboard.writeText(value);
            toast(t("Copied."));
          } catch {
            document.execCommand?.("copy");
          }
        },
      }, t("Copy"))));
}

/**
 * A list of records with one form that creates them or, after "Edit" on a row, changes that one:
 * crudSection({form, list, path: "/labels", load: () => items, describe: (item) => [nodes], nameOf, emptyText, deleteQuestion}).
 * `describe` returns the row's content; Edit and Delete buttons (named after `nameOf(item)` for screen
 * readers) are added. `extra(item)` may add more buttons.
 */
export function crudSection({ form, list, path, load, describe, nameOf, emptyText, deleteQuestion, extra, defaults = {} }) {
  const heading = document.getElementById(form.closest("section").getAttribute("aria-labelledby"));
  const cancel = form.querySelector('[data-action="cancel"]');
  let editing = null;

  function startCreate() {
    editing = null;
    form.reset();
    fillForm(form, defaults);
    heading.textContent = heading.dataset.create;
    cancel.hidden = true;
  }

  function startEdit(item) {
    editing = item;
    fillForm(form, item);
    heading.textContent = heading.dataset.edit;
    cancel.hidden = false;
    form.querySelector("input, textarea, select")?.focus();
  }

  async function refresh() {
    try {
      const items = await load();
      renderList(list, items, (item) => h("article", { class: "settings__row" },
        h("div", { class: "settings__row-main" }, describe(item)),
        h("div", { class: "settings__row-actions" },
          extra ? extra(item, refresh) : null,
          h("button", { type: "button", class: "button button--small", "aria-label": named(t("Edit"), nameOf(item)),
                        onclick: () => startEdit(item) }, t("Edit")),
          deleteButton(accountPath(`${path}/${item.id}`), deleteQuestion, refresh, { name: nameOf(item) }))), emptyText);
    } catch (failure) {
      showLoadError(list, failure);
    }
  }

  cancel.addEventListener("click", startCreate);
  bindForm(form,
    (values) => (editing ? api.patch(accountPath(`${path}/${editing.id}`), values) : api.post(accountPath(path), values)),
    async () => {
      toast(t("Saved."));
      startCreate();
      await refresh();
    });
  startCreate();
  refresh();
  return { refresh };
}
