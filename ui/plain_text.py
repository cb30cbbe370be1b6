"""Text from a file or a link, put in markdown so that it can neither fetch nor link anything.

Streamlit renders `st.markdown`, `st.error`, `st.caption` ... bodies as markdown: a checkpoint's
dataset or a tour's sentence holding `![x](https://elsewhere/x.png)` would make every visitor's
browser fetch that address, and `[here](https://elsewhere)` would show a link. `inert` escapes
(CommonMark's backslash) every character that can start an image, a link, an autolink
(`<...>`, `www.`, `https://`, `a@b.c`), HTML, math (`$`), code, a table, a heading or a quote,
or a Streamlit directive (`:red[...]`): what is left is the characters themselves, with plain
*emphasis* the one markup still drawn (the whitelist a tour's sentence may use). Sentences
read as they are written: apostrophes, colons and parentheses are left alone.

    st.error(inert(message))
    st.markdown(f"dataset {code_literal(dataset)}")
"""

from __future__ import annotations

import re

_ESCAPED = set("\\`[]<>$|#~@&")  # what images, links, HTML, math, code, tables and headings need
_AUTOLINK = re.compile(r"(?i)(://|www\.)")
_LIST_START = re.compile(r"^(\s*)([-+*=]|\d+[.)])")


def inert(text: str) -> str:
    """Markdown that shows `text` as the characters it is (plain *emphasis* aside): no image,
    link, HTML or directive can start in it; control characters become spaces."""
    printable = "".join(c if c.isprintable() else " " for c in str(text))
    escaped = "".join("\\" + c if c in _ESCAPED else c for c in printable)
    # "www." still autolinks with its dot escaped (Streamlit's GFM reads the literal as a link):
    # an invisible zero-width space after "www" breaks it, and the text reads the same.
    escaped = _AUTOLINK.sub(lambda match: "\\" + match.group(1)[0] + match.group(1)[1:]
                            if match.group(1) == "://" else match.group(1)[:3] + "\u200b\\.",
                            escaped)
    return _LIST_START.sub(lambda match: match.group(1) + match.group(2)[:-1] + "\\"
                           + match.group(2)[-1], escaped, 1)


def code_literal(text: str, limit: int = 80) -> str:
    """`text` in a code span (nothing inside renders), its backticks dropped so it cannot
    close the span, cut at `limit` characters."""
    shown = "".join(c for c in str(text) if c.isprintable() and c != "`")
    shown = shown if len(shown) <= limit else shown[:limit] + "…"
    return f"`{shown}`" if shown else "`?`"
