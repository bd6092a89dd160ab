"""Storing Python enums as short strings with a named check constraint, on every engine."""

from __future__ import annotations

import enum

from sqlalchemy import Enum


def enum_column(enum_cls: type[enum.Enum], name: str) -> Enum:
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
