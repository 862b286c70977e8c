# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plain.py: value semantics by ``__slots__``, as a frozen dataclass has them by its fields."""

from __future__ import annotations

from ansible_collections.agentloops.orchestrator.plugins.module_utils.plain import Plain


class Point(Plain):
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y


class Other(Plain):
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y


def test_equal_and_hashed_by_its_fields_in_order():
    assert Point(1, 2) == Point(1, 2) and Point(1, 2) != Point(2, 1)
    assert hash(Point(1, 2)) == hash(Point(1, 2)) and len({Point(1, 2), Point(1, 2), Point(2, 1)}) == 2
    assert Point(1, 2).values() == (1, 2)


def test_another_class_with_the_same_fields_is_not_equal():
    assert Point(1, 2) != Other(1, 2) and Point(1, 2) != (1, 2)


def test_its_repr_names_every_field():
    assert repr(Point(1, "a")) == "Point(x=1, y='a')"


def test_no_instance_dict_and_fields_only():
    point = Point(1, 2)
    assert not hasattr(point, "__dict__")
    try:
        setattr(point, "z", 3)
    except AttributeError:
        pass
    else:
        raise AssertionError("a field not in __slots__ was set")
