"""The base of the library's own errors: a message a person reads in one line."""

from __future__ import annotations


class OneLineError(ValueError):
    """An error whose message is one printable line. What a file or a user said (a field's name,
    a path) is echoed with its control characters, newlines included, shown as '?', so a
    message never breaks a log line, a terminal or a page."""

    def __init__(self, message: str) -> None:
        super().__init__("".join(c if c.isprintable() else "?" for c in str(message)))
