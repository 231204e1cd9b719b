"""A built-in synthetic camera: an operating-room-like scene with people walking, for demos.

Frames are BGR uint8, deterministic in the frame index; no real person is ever shown.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

_SKIN = (140, 170, 210)
_GOWNS = ((170, 140, 60), (90, 150, 60), (160, 160, 160))


def synthetic_frame(index: int, width: int = 640, height: int = 480, people: int = 2) -> np.ndarray:
    """Frame ``index`` of the synthetic camera: a floor, a table and ``people`` stick figures."""
    frame = np.empty((height, width, 3), np.uint8)
    floor = np.linspace(90, 150, height, dtype=np.float32)[:, None]
    frame[:] = np.repeat(floor, width, axis=1)[..., None].astype(np.uint8)
    s = height / 480.0
    cv2.rectangle(frame, (int(0.35 * width), int(0.45 * height)), (int(0.65 * width), int(0.62 * height)),
                  (200, 200, 190), -1)
    for p in range(people):
        phase = index / 30.0 + p * 2.1
        cx = int(width * (0.2 + 0.6 * (0.5 + 0.5 * math.sin(0.35 * phase + p))))
        feet = int(height * (0.78 + 0.08 * p))
        _person(frame, cx, feet, 230 * s, _GOWNS[p % len(_GOWNS)], swing=math.sin(2.0 * phase))
    return frame


def _person(frame: np.ndarray, cx: int, feet_y: int, tall: float, gown: tuple[int, int, int], swing: float) -> None:
    t = max(1, int(tall / 18))
    hip = (cx, int(feet_y - 0.47 * tall))
    neck = (cx, int(feet_y - 0.82 * tall))
    head = (cx, int(feet_y - 0.92 * tall))
    step = int(0.12 * tall * swing)
    for foot_dx in (step, -step):
        knee = (cx + foot_dx // 2, int(feet_y - 0.24 * tall))
        cv2.line(frame, hip, knee, gown, t * 2)
        cv2.line(frame, knee, (cx + foot_dx, feet_y), gown, t * 2)
    cv2.line(frame, hip, neck, gown, t * 4)
    for side in (-1, 1):
        elbow = (cx + side * int(0.16 * tall), int(feet_y - 0.62 * tall))
        hand = (cx + side * int(0.2 * tall), int(feet_y - 0.48 * tall - 0.05 * tall * swing * side))
        cv2.line(frame, (neck[0] + side * t * 2, neck[1]), elbow, gown, t * 2)
        cv2.line(frame, elbow, hand, _SKIN, t)
    cv2.circle(frame, head, int(0.07 * tall), _SKIN, -1)
    cv2.ellipse(frame, (head[0], head[1] - int(0.03 * tall)), (int(0.075 * tall), int(0.05 * tall)), 0, 180, 360,
                gown, -1)
