"""The contact a live crawl sends in its User-Agent must reach a person.

A site operator who sees odd traffic writes to that address or opens that URL; a placeholder such as
the default config's ``set-your-email@example.invalid`` reaches no one, so a live crawl refuses it.
(The offline snapshot is our own server, so there the placeholder is fine.)
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from neta.errors import NetaError

_EMAIL = re.compile(r"^[^@\s<>]+@(?P<domain>[^@\s<>]+\.[^@\s<>.]+)$")
# RFC 2606 / 6761 reserve these for documentation and tests: nobody reads mail sent there.
_RESERVED_TLDS = {"invalid", "test", "example", "localhost"}
_RESERVED_LABEL = "example"  # example.com, example.org, example.net, example.jp, mail.example.co.uk


def contact_domain(contact: str) -> str | None:
    """The domain of an e-mail address or the host of an http(s) URL; None when it is neither."""
    contact = contact.strip()
    named = re.fullmatch(r"[^<>]*<(?P<address>[^<>]+)>", contact)  # "Pat O'Neil <pat@example.org>"
    if named:
        contact = named["address"].strip()
    email = _EMAIL.match(contact)
    if email:
        return email["domain"].lower()
    parts = urlsplit(contact)
    if parts.scheme in ("http", "https") and parts.hostname and "." in parts.hostname:
        return parts.hostname.lower()
    return None


def check_live_contact(contact: str, *, site: str) -> None:
    """Raise NetaError naming ``<site>.contact`` unless ``contact`` is a real e-mail address or URL."""
    key = f"{site}.contact"
    domain = contact_domain(contact or "")
    if not contact or not contact.strip():
        problem = "is empty"
    elif domain is None:
        problem = f"is {contact!r}, which is neither an e-mail address nor an http(s) URL"
    else:
        labels = domain.rstrip(".").split(".")
        if labels[-1] not in _RESERVED_TLDS and _RESERVED_LABEL not in labels[:-1]:
            return
        problem = f"is {contact!r}, a placeholder on a reserved domain ({domain}) that reaches no one"
    raise NetaError(
        f"{key} {problem}: a crawl or download of a live site must say who runs it. Set {key} in "
        "config.yaml to your e-mail address (you@your-domain.org) or a URL about your crawl (https://...), "
        "then run again (the offline snapshot needs no contact)"
    )
