// Nexa web chat embed: <script src="https://YOUR-NEXA/widget/sdk.js" data-website-token="..." async></script>
// Draws a launcher bubble and opens the chat in an iframe served by Nexa. Nothing else on the page is touched.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__nexaWidgetLoaded) return;
  window.__nexaWidgetLoaded = true;

  var token = script.getAttribute("data-website-token");
  var origin = new URL(script.src).origin;
  if (!token) {
    console.error("Nexa widget: data-website-token is missing on the script tag");
    return;
  }

  var frame = document.createElement("iframe");
  frame.title = "Chat";
  frame.src = origin + "/widget?website_token=" + encodeURIComponent(token) +
    "&locale=" + encodeURIComponent(navigator.language || "");
  frame.setAttribute("data-nexa", "frame");
  frame.style.cssText = "position:fixed;bottom:92px;right:20px;width:370px;max-width:calc(100vw - 40px);" +
    "height:560px;max-height:calc(100vh - 120px);border:0;border-radius:14px;" +
    "box-shadow:0 8px 32px rgba(0,0,0,.18);z-index:2147483000;display:none;background:#fff";

  var bubble = document.createElement("button");
  bubble.type = "button";
  bubble.setAttribute("aria-label", "Chat");
  bubble.setAttribute("aria-expanded", "false");
  bubble.setAttribute("data-nexa", "bubble");
  bubble.style.cssText = "position:fixed;bottom:20px;right:20px;width:60px;height:60px;border-radius:50%;" +
    "border:0;cursor:pointer;z-index:2147483000;box-shadow:0 4px 16px rgba(0,0,0,.2);background:#1f93ff;color:#fff";
  bubble.innerHTML = '<svg width="28" height="28" viewBox="0 0 24 24" fill="currentColor" aria-hidden="true">' +
    '<path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>';

  // The chat records the visit (webwidget_triggered) with the page it was opened on.
  function announceOpened() {
    if (frame.contentWindow) frame.contentWindow.postMessage({ nexa: "opened", referer: location.href }, origin);
  }
  bubble.addEventListener("click", function () {
    var open = frame.style.display === "none";
    frame.style.display = open ? "block" : "none";
    bubble.setAttribute("aria-expanded", String(open));
    if (open) announceOpened();
  });
  // Opened before the chat had loaded: the message above found no listener yet, so say it again.
  frame.addEventListener("load", function () { if (frame.style.display !== "none") announceOpened(); });

  fetch(origin + "/public/api/v1/inboxes/" + encodeURIComponent(token))
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (inbox) {
      if (inbox && /^#[0-9a-fA-F]{3,6}$/.test(inbox.widget_color)) bubble.style.background = inbox.widget_color;
      if (inbox) bubble.setAttribute("aria-label", inbox.name);
    })
    .catch(function () {});

  function mount() {
    document.body.appendChild(frame);
    document.body.appendChild(bubble);
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
