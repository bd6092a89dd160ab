"""Links a page repeats for hundreds of rows."""

from __future__ import annotations

from flask import url_for


def link_prefix(endpoint: str, id_arg: str) -> str:
    """The address of `endpoint` up to its id: `prefix + str(id)` is what
    `url_for(endpoint, **{id_arg: id})` gives, without a url_for per row (a large report lists
    hundreds). Only for rules whose id ends the path."""
    url = url_for(endpoint, **{id_arg: 0})
    if not url.endswith("/0"):
        raise ValueError(f"{endpoint}: the id does not end its address ({url})")
    return url.removesuffix("0")
