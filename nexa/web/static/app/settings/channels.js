// What the inbox pages share: the channel fieldsets and the "how to connect" details of an inbox.
import { h } from "/static/app/js/dom.js";
import { config, t } from "/static/app/js/i18n.js";
import { copyable } from "./forms.js";

export const channelName = (provider) => t(config.channelNames[provider] || provider);

/** Show and enable only `channel`'s fieldset: the others are hidden and not sent. */
export function showChannel(form, channel) {
  for (const fieldset of form.querySelectorAll("[data-channel]")) {
    const active = fieldset.dataset.channel === channel;
    fieldset.hidden = !active;
    fieldset.disabled = !active;
  }
}

/** A random token for the admin to give Meta as the webhook verify token (they may type their own). */
export function newVerifyToken() {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The widget's one-line embed for the inbox's website token. */
export const widgetSnippet = (websiteToken) =>
  `<script src="${config.baseUrl}/widget/sdk.js" data-website-token="${websiteToken}" async></script>`;

/**
 * What the admin gives the provider or the website: the callback URL (and the verify token they just chose,
 * which the API never returns), or the widget snippet; for API inboxes, the inbox identifier.
 */
export function connectionDetails(inbox, { verifyToken } = {}) {
  const parts = [];
  if (inbox.callback_webhook_url) parts.push(copyable(t("Callback URL"), inbox.callback_webhook_url));
  if (verifyToken) parts.push(copyable(t("Verify token"), verifyToken));
  if (inbox.website_token) {
    parts.push(copyable(t("Paste this into your website's HTML, before </body>:"), widgetSnippet(inbox.website_token), { multiline: true }));
  }
  if (inbox.provider === "api") parts.push(copyable(t("Inbox identifier"), inbox.inbox_identifier));
  return h("div", { class: "settings__connect" }, ...parts);
}
