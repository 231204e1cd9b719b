"""Argument types shared by the command-line tools (orpose-infer, orpose-bench, camera_replay, orpose_demo...)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any


def parse_size(text: str) -> tuple[int, int]:
    """``"640x480"`` -> (width, height), both positive; an argparse error otherwise."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 640x480, got {text!r}")
    width, height = int(parts[0]), int(parts[1])
    if width < 1 or height < 1:
        raise argparse.ArgumentTypeError(f"width and height must be positive, got {text!r}")
    return width, height


def _number(text: str, convert: type, accept: Callable[[float], bool], expected: str) -> Any:
    """``convert(text)`` when ``accept`` holds for it; an argparse error saying ``expected`` otherwise."""
    try:
        value = convert(text)
    except ValueError:
        value = None
    if value is None or not accept(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1."""
    return _number(text, int, lambda v: v >= 1, "a positive integer")


def unit_interval(text: str) -> float:
    """A float in [0, 1]."""
    return _number(text, float, lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]")


def positive_float(text: str) -> float:
    """A finite number > 0."""
    return _number(text, float, lambda v: math.isfinite(v) and v > 0, "a positive number")


class CliError(Exception):
    """A mistake in the arguments or inputs of a command-line tool: one line, exit status 2."""


def floor_argument(text: str) -> str | float:
    """``auto``, ``none`` or a floor height [m] along the room frame's z axis."""
    if text in ("auto", "none"):
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected auto, none or a height in metres, got {text!r}") from None
