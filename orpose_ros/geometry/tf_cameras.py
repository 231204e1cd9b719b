"""Camera poses taken from static TF: which cameras have one, which wait, which are refused. ROS-free.

Each camera is named by its optical frame (``frame_id``: x right, y down, z forward). Its pose
``T_world_from_camera`` is the chain of static transforms (/tf_static) from the world frame to that frame,
composed by `FrameTree`. Moving cameras are out of scope: a camera whose chain goes through a frame that
was ever seen on /tf (a dynamic transform, e.g. a camera on a robot arm) is refused for good. A camera whose
chain is not complete yet waits; its poses are ignored until it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from orpose_ros.geometry.frame_tree import FrameLookupError, FrameTree


class PoseState(StrEnum):
    WAITING = "waiting"  # no complete static chain yet
    READY = "ready"  # T_world_from_camera known
    REFUSED = "refused"  # its chain involves a dynamic (/tf) frame


@dataclass(frozen=True)
class PoseChange:
    """What became of one camera after new transforms.

    Attributes:
        frame: the camera's optical frame; state: its new state; detail: why (one line, for the log);
        T_world_from_camera: (4, 4) its pose [m] when READY, else None.
    """

    frame: str
    state: PoseState
    detail: str
    T_world_from_camera: np.ndarray | None = None


@dataclass
class TfCameraPoses:
    """The poses of the cameras ``camera_frames`` in ``world_frame`` from the static transforms given so far."""

    world_frame: str
    camera_frames: Sequence[str]
    tree: FrameTree = field(default_factory=FrameTree)
    dynamic_frames: set[str] = field(default_factory=set)
    states: dict[str, PoseState] = field(init=False)
    _poses: dict[str, np.ndarray] = field(init=False, default_factory=dict)
    _reasons: dict[str, str] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.states = dict.fromkeys(self.camera_frames, PoseState.WAITING)

    def pose(self, frame: str) -> np.ndarray | None:
        """(4, 4) T_world_from_camera of a READY camera, else None."""
        return self._poses.get(frame)

    @property
    def unposed(self) -> tuple[str, ...]:
        """The cameras without a usable pose (waiting or refused), in order."""
        return tuple(frame for frame in self.camera_frames if self.states[frame] != PoseState.READY)

    def add_static(self, transforms: Iterable[tuple[str, str, np.ndarray]]) -> tuple[list[PoseChange], list[str]]:
        """Adds (parent, child, T_parent_from_child) static transforms; the cameras whose state or pose changed
        and one line per transform that was not usable (kept out of the tree)."""
        problems = []
        changed = False
        for parent, child, T in transforms:
            try:
                changed |= self.tree.set(parent, child, T)
            except ValueError as error:
                problems.append(f"/tf_static: {error}: ignored")
        return (self._update() if changed else []), problems

    def add_dynamic(self, children: Iterable[str]) -> list[PoseChange]:
        """Notes the child frames of dynamic transforms (/tf); the cameras newly refused."""
        new = set(children) - self.dynamic_frames
        if not new:
            return []
        self.dynamic_frames |= new
        return self._update()

    def _update(self) -> list[PoseChange]:
        changes = []
        for frame in self.camera_frames:
            if self.states[frame] == PoseState.REFUSED:
                continue  # refused for good
            change = self._judge(frame)
            old_pose = self._poses.get(frame)
            moved = change.T_world_from_camera is not None and (
                old_pose is None or not np.array_equal(old_pose, change.T_world_from_camera))
            first = frame not in self._reasons
            self._reasons[frame] = change.detail  # a waiting camera's missing link may change: said once
            if change.state == self.states[frame] and not moved and not first:
                continue
            self.states[frame] = change.state
            if change.T_world_from_camera is not None:
                self._poses[frame] = change.T_world_from_camera
            else:
                self._poses.pop(frame, None)
            changes.append(change)
        return changes

    def _judge(self, frame: str) -> PoseChange:
        """The state of camera ``frame`` with the transforms known now. The links a chain uses are the parent
        edges of its frames below the common ancestor; an incomplete chain would go on through the frames
        at the top of the camera's and the world's static chains."""
        try:
            chain = self.tree.lookup(self.world_frame, frame)
        except FrameLookupError as error:
            chain, missing = None, str(error)
        links = set(chain.frames) - {chain.common} if chain is not None else {
            self.tree.root(frame), self.tree.root(self.world_frame)}
        dynamic = sorted(links & self.dynamic_frames)
        if dynamic:
            return PoseChange(frame, PoseState.REFUSED, (
                f"camera {frame!r}: refused: its chain from {self.world_frame!r} goes through a transform published "
                f"on /tf (moving: {', '.join(dynamic)}); only static cameras (/tf_static) are supported, its poses "
                "are ignored"))
        if chain is None:
            return PoseChange(frame, PoseState.WAITING, f"camera {frame!r}: waiting for /tf_static ({missing}); "
                              "its poses are ignored until then")
        return PoseChange(frame, PoseState.READY,
                          f"camera {frame!r}: pose from /tf_static ({' -> '.join(reversed(chain.frames))})",
                          chain.T_target_from_source)
