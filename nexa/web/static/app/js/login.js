// Sign in with the web session (HTTP-only cookie + CSRF cookie), then go where the user was going.
import { request } from "./api.js";
import { t } from "./i18n.js";

const form = document.querySelector('[data-form="login"]');
const error = form.querySelector(".form__error");
const button = form.querySelector('button[type="submit"]');

function showError(text) {
  error.textContent = text;
  error.hidden = false;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const email = form.email.value.trim();
  const password = form.password.value;
  if (!email || !password) {
    showError(t("Enter your email and password."));
    return;
  }
  button.disabled = true;
  try {
    await request("POST", "/api/v1/auth/session", { email, password });
    location.assign(form.dataset.next || "/app");
  } catch (failure) {
    if (failure.status === 429) {
      showError(t("Too many sign-in attempts. Try again in %(seconds)s seconds.", { seconds: failure.retryAfter || 60 }));
    } else if (failure.status === 401) {
      showError(t("Wrong email or password."));
    } else {
      showError(failure.message);
    }
    form.password.select();
  } finally {
    button.disabled = false;
  }
});
