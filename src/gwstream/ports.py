"""Port settings shared by every section that serves HTTP."""

from __future__ import annotations


def unset_port(v: object) -> object:
    """An empty value or ``null`` (as an environment variable can only write it): no port."""
    if isinstance(v, str) and v.strip().lower() in ("", "null", "none"):
        return None
    return v
