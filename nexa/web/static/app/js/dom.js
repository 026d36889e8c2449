// Building DOM without innerHTML: customer text only ever becomes a text node.

/** h("div", {class: "x", onclick}, "text", child) -> an element. Strings become text nodes, never markup. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(element) {
  element.replaceChildren();
  return element;
}

/** A short message at the bottom of the screen (errors, confirmations). */
export function toast(text, kind = "info") {
  const holder = document.querySelector(".toasts");
  if (!holder) return;
  const item = h("div", { class: `toast toast--${kind}` }, text);
  holder.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
}
