// Small DOM helpers shared by Latent Lab's browser modules (decoder.mjs, draw.mjs).

// A new <tag class=className> with `text`, appended to `parent` when one is given.
export function element(tag, className, parent, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}
