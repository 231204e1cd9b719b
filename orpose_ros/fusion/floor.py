"""One floor rule for every tool: the calibration's floor, a given height, none, or self-calibrated under the
people triangulated by a first fusion without a floor (`pipeline.self_calibrated_floor`, world z up).

Offline tools (``orpose-fuse --floor auto``, ``orpose-eval-mvor``) see every frame and estimate from all of them.
A stream cannot wait for the end: `OnlineFloor` collects the people triangulated in the first ``moments``
moments that have any, fused without a floor, then fixes the floor with the same estimate; until then the
moments are fused without one (single-camera people placed by their skeleton alone).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from orpose_ros.fusion.pipeline import TRIANGULATED, FusedPerson, floor_under
from orpose_ros.geometry.calibration import FloorPlane

log = logging.getLogger(__name__)

#: Floor choices besides a height [m]: the calibration's (self-calibrated when it has none), self-calibrated, none.
CALIBRATION, AUTO, NONE = "calibration", "auto", "none"


def parse_floor_choice(text: str) -> str | float:
    """``calibration``, ``auto``, ``none`` or a finite floor height [m] along the world z axis.

    Raises:
        ValueError: anything else.
    """
    if text in (CALIBRATION, AUTO, NONE):
        return text
    try:
        height = float(text)
    except ValueError:
        raise ValueError(f"expected calibration, auto, none or a height in metres, got {text!r}") from None
    if not np.isfinite(height):
        raise ValueError(f"expected a finite height in metres, got {text!r}")
    return height


def fixed_floor(choice: str | float, calibration_floor: FloorPlane | None) -> tuple[FloorPlane | None, bool]:
    """The floor ``choice`` gives before any people are seen, and whether it must still be self-calibrated
    (``auto``, or ``calibration`` when the calibration has no floor)."""
    if choice == NONE:
        return None, False
    if choice == AUTO or (choice == CALIBRATION and calibration_floor is None):
        return None, True
    if choice == CALIBRATION:
        return calibration_floor, False
    return FloorPlane.horizontal(float(choice)), False


def stream_floor(choice: str | float, calibration_floor: FloorPlane | None, moments: int,
                 ) -> tuple[FloorPlane | None, int, str]:
    """For a stream (`stream.StreamOptions.floor_moments`): the floor to start with, the ``floor_moments`` to
    self-calibrate it from (0: fixed) and one line saying which floor it is."""
    floor, self_calibrate = fixed_floor(choice, calibration_floor)
    if self_calibrate:
        why = "floor auto" if choice == AUTO else "the calibration has no floor"
        return None, moments, (f"floor: self-calibrated ({why}) under the people seen by several cameras in the "
                               f"first {moments} moments that have any; until then no floor")
    if floor is None:
        return None, 0, "floor: none (single-camera people placed by their skeleton alone)"
    source = "the calibration's" if choice == CALIBRATION else "given"
    return floor, 0, (f"floor: {source}, {floor.offset_m:.4f} m along ({floor.normal_world[0]:.3f}, "
                      f"{floor.normal_world[1]:.3f}, {floor.normal_world[2]:.3f})")


class OnlineFloor:
    """The floor self-calibrated from the first ``moments`` moments in which somebody is triangulated.

    Feed it each moment's people fused without a floor (`add`); once enough moments were seen, ``floor`` is
    fixed (the estimate of `pipeline.floor_under` over all their triangulated people) and logged once.
    """

    def __init__(self, moments: int, stature_m: float) -> None:
        if moments < 1:
            raise ValueError(f"moments must be >= 1, got {moments}")
        self.moments = moments
        self.stature_m = stature_m
        self.floor: FloorPlane | None = None
        self._joints: list[np.ndarray] = []  # (17, 3) [m] per triangulated person
        self._seen = 0  # moments with somebody triangulated

    @property
    def fixed(self) -> bool:
        return self.floor is not None

    def add(self, people: Sequence[FusedPerson]) -> FloorPlane | None:
        """Collects the triangulated ``people`` of one moment (fused without a floor); returns the floor once
        it is fixed (None before)."""
        if self.floor is not None:
            return self.floor
        joints = [p.joints for p in people if p.placement == TRIANGULATED]
        if not joints:
            return None
        self._joints += joints
        self._seen += 1
        if self._seen >= self.moments:
            self.floor = floor_under(self._joints, self.stature_m)
            if self.floor is not None:
                log.info("floor self-calibrated under %d people of the first %d moments with people seen by "
                         "several cameras: %.4f m along (%.3f, %.3f, %.3f)", len(self._joints), self._seen,
                         self.floor.offset_m, *self.floor.normal_world)
                self._joints = []
        return self.floor
