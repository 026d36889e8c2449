// Settings > Branding: every change shows at once in the preview; saving restyles this page too.
import { api, accountPath, request } from "/static/app/js/api.js";
import { toast } from "/static/app/js/dom.js";
import { t } from "/static/app/js/i18n.js";
import { bindForm } from "./forms.js";

const form = document.querySelector('[data-form="branding"]');
const preview = document.querySelector("[data-preview-root]");
const previewName = document.querySelector("[data-preview-name]");
const previewLogo = document.querySelector("[data-preview-logo]");
const field = (kind) => form.querySelector(`[data-preview="${kind}"]`);

function updatePreview() {
  preview.style.setProperty("--brand-primary", field("primary").value);
  preview.style.setProperty("--brand-accent", field("accent").value);
  previewName.textContent = field("name").value.trim() || field("name").placeholder;
  const logo = field("logo").value.trim();
  previewLogo.hidden = !/^(https?:\/\/|\/[^/])/.test(logo);
  if (!previewLogo.hidden) previewLogo.src = logo;
}

/** The saved brand on this page's own frame, as a reload would show it. */
function applyToPage(branding) {
  // The form always sends both colors (a color field cannot be empty).
  document.documentElement.style.setProperty("--brand-primary", branding.primary_color);
  document.documentElement.style.setProperty("--brand-accent", branding.accent_color);
  const name = document.querySelector(".topbar .brand__name");
  if (name) name.textContent = branding.product_name || field("name").placeholder;
}

// An upload is saved at once (the file must be stored to have a URL); its URL then fills the field.
for (const picker of form.querySelectorAll("[data-upload]")) {
  picker.addEventListener("change", async () => {
    if (!picker.files.length) return;
    const body = new FormData();
    body.append("file", picker.files[0]);
    try {
      const account = await request("POST", accountPath(`/branding/${picker.dataset.upload}`), body);
      field(picker.dataset.upload).value = account.branding[`${picker.dataset.upload}_url`];
      updatePreview();
      toast(t("Image uploaded."));
    } catch (failure) {
      toast(failure.message, "error");
    } finally {
      picker.value = "";
    }
  });
}
form.addEventListener("input", updatePreview);
bindForm(form, (values) => api.patch(accountPath(""), values), (account) => {
  applyToPage(account.branding);
  toast(t("Brand saved."));
});
document.querySelector('[data-action="reset-brand"]').addEventListener("click", async () => {
  if (!window.confirm(t("Remove your name, logo and colors?"))) return;
  try {
    const empty = { product_name: "", logo_url: "", favicon_url: "", primary_color: "", accent_color: "" };
    await api.patch(accountPath(""), { branding: empty });
    location.reload();
  } catch (failure) {
    toast(failure.message, "error");
  }
});
updatePreview();
