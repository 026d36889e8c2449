// The Nexa API from the browser: the session cookie plus the CSRF header, JSON in and out, errors as ApiError.
import { config, t } from "./i18n.js";

export class ApiError extends Error {
  constructor(status, message, body, retryAfter) {
    super(message);
    this.status = status;
    this.body = body;
    this.retryAfter = retryAfter;
  }
}

function csrfToken() {
  const prefix = `${config.csrfCookie}=`;
  const cookie = document.cookie.split("; ").find((part) => part.startsWith(prefix));
  return cookie ? decodeURIComponent(cookie.slice(prefix.length)) : "";
}

/** The message a user should read for a failed call: the server's own words when it sent some. */
function errorMessage(status, body) {
  if (status === 429) return t("Too many attempts. Try again in a moment.");
  if (body && typeof body === "object") return body.error || body.message || t("Something went wrong.");
  if (status >= 500) return t("The server had a problem. Try again.");
  return t("Something went wrong.");
}

/**
 * request("POST", "/api/v1/...", body) -> parsed JSON (null for 204).
 * body may be a plain object (sent as JSON) or FormData (uploads). Throws ApiError.
 */
export async function request(method, path, body, { signal } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrfToken();
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body: payload, credentials: "same-origin", signal });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, t("No connection to the server."), null, null);
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const retryAfter = Number(response.headers.get("Retry-After")) || null;
    if (response.status === 401 && !path.startsWith("/api/v1/auth/")) {
      // The session ended (expired, logged out elsewhere): back to the login page, then here again.
      window.location.assign(`/app/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    }
    throw new ApiError(response.status, errorMessage(response.status, data), data, retryAfter);
  }
  return data;
}

export const api = {
  get: (path, params) => {
    const query = params ? `?${new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== ""))}` : "";
    return request("GET", path + (query === "?" ? "" : query));
  },
  post: (path, body) => request("POST", path, body ?? {}),
  put: (path, body) => request("PUT", path, body ?? {}),
  patch: (path, body) => request("PATCH", path, body ?? {}),
  delete: (path) => request("DELETE", path),
};

/** "/api/v1/accounts/<current account>" + rest */
export const accountPath = (rest = "") => `/api/v1/accounts/${config.accountId}${rest}`;
