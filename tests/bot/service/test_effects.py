"""The effect table is whole: every effect the flow can return has exactly one handler."""

from __future__ import annotations

import typing

import pytest

from bot.service import effects
from flows import model


def test_every_effect_type_has_exactly_one_handler():
    members = typing.get_args(model.Effect)
    assert len(members) == len(set(members))
    assert set(effects.HANDLERS) == set(members)
    assert all(callable(handler) for handler in effects.HANDLERS.values())


def test_handlers_are_distinct_functions():
    handlers = list(effects.HANDLERS.values())
    assert len(handlers) == len(set(handlers))


def test_an_effect_without_a_handler_is_refused_not_skipped():
    class Unknown:
        pass

    with pytest.raises(TypeError, match="no handler"):
        effects.apply_all(None, [Unknown()])  # type: ignore[arg-type, list-item]
