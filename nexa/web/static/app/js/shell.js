// The frame around every signed-in page: availability, account switcher, logout, the sidebar on phones.
import { api } from "./api.js";
import { config } from "./i18n.js";
import { toast } from "./dom.js";
import { realtime } from "./realtime.js";

const availability = document.getElementById("availability");
if (availability) {
  const dot = document.querySelector(".availability__dot");
  availability.addEventListener("change", async () => {
    const chosen = availability.value;
    try {
      await api.put("/api/v1/profile", { availability: chosen, account_id: config.accountId });
      availability.dataset.current = chosen;
      dot.dataset.availability = chosen;
    } catch (error) {
      availability.value = availability.dataset.current;
      toast(error.message, "error");
    }
  });
  // The socket's heartbeats keep this agent "present", so their availability counts (docs/realtime.md).
  realtime();
}

document.querySelectorAll('[data-action="logout"]').forEach((button) =>
  button.addEventListener("click", async () => {
    try {
      await api.post("/api/v1/auth/logout");
    } catch (error) {
      if (error.status !== 401) {
        toast(error.message, "error");
        return;
      }
    }
    location.assign("/app/login");
  }),
);

document.querySelector('[data-action="switch-account"]')?.addEventListener("change", (event) => {
  location.assign(`/app/accounts/${event.target.value}/conversations`);
});

const menu = document.querySelector('[data-action="toggle-sidebar"]');
menu?.addEventListener("click", () => {
  const open = document.body.classList.toggle("sidebar-open");
  menu.setAttribute("aria-expanded", String(open));
});
