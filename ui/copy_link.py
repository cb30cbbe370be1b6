"""A "Copy link" button and the link it copies: the page's whole address, origin, page path
and the query parameters ui.url_state keeps there, so the link reopens the same view.

A components-v2 element (JS in the page, no iframe): only the browser knows the address it
was opened under (host, port, a proxy's path), so the JS reads window.location itself. The
field follows the address as the page changes it; the button copies it with the clipboard API,
or, where the browser offers none (plain http away from localhost), selects it for Ctrl+C.
`one_history_entry_per_page` keeps those parameter changes out of the Back button's way.
"""

from __future__ import annotations

import streamlit as st

_HTML = """
<div class="ll-link">
  <button type="button" class="ll-link-copy">Copy link</button>
  <input class="ll-link-url" type="text" readonly aria-label="Link to this view">
  <span class="ll-link-status" aria-live="polite"></span>
</div>
"""
_JS = """
export default function ({ parentElement }) {
    const field = parentElement.querySelector(".ll-link-url");
    const button = parentElement.querySelector(".ll-link-copy");
    const status = parentElement.querySelector(".ll-link-status");
    const follow = () => {
        if (field.value !== window.location.href) field.value = window.location.href;
    };
    follow();
    // Streamlit changes the address with history.pushState, which fires no event: look again
    // a few times a second while the element is on the page.
    const timer = setInterval(follow, 300);
    button.onclick = async () => {
        follow();
        try {
            await navigator.clipboard.writeText(field.value);
            status.textContent = "Copied";
        } catch (error) {
            field.focus();
            field.select();
            status.textContent = "Selected: press Ctrl+C";
        }
        parentElement.querySelector(".ll-link").dataset.copied = field.value;
    };
    field.onfocus = () => field.select();
    return () => clearInterval(timer);
}
"""
_CSS = """
.ll-link { display: flex; align-items: center; gap: 0.6rem; font-family: var(--st-font);
    color: var(--st-text-color); font-size: 0.85rem; }
.ll-link-copy { font: inherit; padding: 0.25rem 0.8rem; cursor: pointer; white-space: nowrap;
    color: var(--st-text-color); background: var(--st-secondary-background-color);
    border: 1px solid var(--st-border-color); border-radius: 0.5rem; }
.ll-link-copy:hover { border-color: var(--st-primary-color); color: var(--st-primary-color); }
.ll-link-url { flex: 1; min-width: 8rem; font: inherit; padding: 0.25rem 0.5rem; opacity: 0.8;
    color: var(--st-text-color); background: transparent;
    border: 1px solid var(--st-border-color); border-radius: 0.5rem; }
.ll-link-status { opacity: 0.7; white-space: nowrap; }
"""

# Streamlit records each change of the query parameters as a new entry in the browser's
# history (pushState): arriving on a page made three, and Back stopped on entries that the page
# at once wrote over again, so it seemed not to work. Installed once per tab, this keeps one
# entry per page: a change of the address that keeps the page's path replaces the entry.
_HISTORY_JS = """
export default function () {
    if (window.latentLabQueryHistory) return;
    window.latentLabQueryHistory = true;
    const push = window.history.pushState;
    window.history.pushState = function (state, unused, url) {
        const next = url == null ? null : new URL(url, window.location.href);
        if (next !== null && next.pathname === window.location.pathname) {
            return window.history.replaceState(state, unused, url);
        }
        return push.call(window.history, state, unused, url);
    };
}
"""

_copy_link = st.components.v2.component("latent_lab_copy_link", html=_HTML, js=_JS, css=_CSS,
                                        isolate_styles=False)
_history = st.components.v2.component("latent_lab_query_history", js=_HISTORY_JS)


def copy_link(key: str) -> None:
    """The button and the field with this page's link."""
    _copy_link(key=key)


def one_history_entry_per_page() -> None:
    """Changes of the query parameters replace the browser's history entry instead of adding
    one (an element with nothing to show; the sidebar draws it on every page)."""
    _history(key="sidebar_query_history")
