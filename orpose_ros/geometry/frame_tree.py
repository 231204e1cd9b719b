"""A tree of static frames, as TF's /tf_static describes it: composes chains of transforms. ROS-free.

Each edge is one transform ``T_parent_from_child`` (4x4, rigid, metres): a point in the child frame maps to
the parent frame as ``p_parent = T_parent_from_child @ [p_child, 1]`` (a geometry_msgs/TransformStamped
with ``header.frame_id`` = parent and ``child_frame_id`` = child). Every frame has at most one parent
(a new edge for the same child replaces the old one). `FrameTree.lookup(target, source)` composes the
chains up to the frames' common ancestor, as tf2 does, into ``T_target_from_source``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from orpose_ros.geometry.transforms import invert_rigid, rigidity_problem


class FrameLookupError(LookupError):
    """No chain of known transforms joins two frames; the message says which link is missing."""


@dataclass(frozen=True)
class Chain:
    """The frames a lookup went through and its result.

    Attributes:
        frames: every frame on the path from ``source`` up to the common ancestor and down to ``target``
            (both ends included, each once).
        common: the common ancestor (the one frame of ``frames`` whose parent edge the chain does not use).
        T_target_from_source: (4, 4) rigid transform [m].
    """

    frames: tuple[str, ...]
    common: str
    T_target_from_source: np.ndarray


class FrameTree:
    """Static transforms between named frames (each child has one parent)."""

    def __init__(self) -> None:
        self._parents: dict[str, tuple[str, np.ndarray]] = {}  # child -> (parent, T_parent_from_child)

    def __len__(self) -> int:
        return len(self._parents)

    def set(self, parent: str, child: str, T_parent_from_child: np.ndarray) -> bool:
        """Adds or replaces the edge parent -> child; whether the tree changed. `ValueError` for an empty name,
        a frame its own parent, an edge closing a loop, or a transform that is not rigid."""
        if not parent or not child or parent == child:
            raise ValueError(f"transform {parent!r} -> {child!r}: frames must be two different non-empty names")
        T = np.asarray(T_parent_from_child, dtype=np.float64)
        problem = rigidity_problem(T)
        if problem:
            raise ValueError(f"transform {parent!r} -> {child!r}: {problem}")
        if child in self._ancestors(parent):
            raise ValueError(f"transform {parent!r} -> {child!r}: closes a loop ({child!r} is above {parent!r})")
        old = self._parents.get(child)
        if old is not None and old[0] == parent and np.array_equal(old[1], T):
            return False
        self._parents[child] = (parent, T.copy())
        return True

    def parent(self, frame: str) -> str | None:
        """The parent of ``frame``, None for a root or an unknown frame."""
        edge = self._parents.get(frame)
        return edge[0] if edge is not None else None

    def root(self, frame: str) -> str:
        """The topmost known ancestor of ``frame`` (``frame`` itself when it has no parent)."""
        return self._ancestors(frame)[-1]

    def _ancestors(self, frame: str) -> list[str]:
        """``frame`` and its ancestors, nearest first, up to its root."""
        chain = [frame]
        while chain[-1] in self._parents:
            chain.append(self._parents[chain[-1]][0])
        return chain

    def _T_root_from(self, chain: list[str]) -> np.ndarray:
        """T_root_from_frame for ``chain`` = [frame, parent, ..., root]."""
        T = np.eye(4)
        for child in chain[:-1]:
            T = self._parents[child][1] @ T
        return T

    def lookup(self, target: str, source: str) -> Chain:
        """``T_target_from_source`` (a point in ``source`` coordinates to ``target`` coordinates) and the frames
        it goes through; `FrameLookupError` when the two frames have no common ancestor."""
        up_source, up_target = self._ancestors(source), self._ancestors(target)
        common = next((frame for frame in up_source if frame in up_target), None)
        if common is None:
            raise FrameLookupError(
                f"no chain of transforms from {target!r} to {source!r}: {source!r} goes up to {up_source[-1]!r}, "
                f"{target!r} to {up_target[-1]!r}")
        source_part = up_source[: up_source.index(common) + 1]
        target_part = up_target[: up_target.index(common) + 1]
        T_common_from_source = self._T_root_from(source_part)
        T_common_from_target = self._T_root_from(target_part)
        frames = (*source_part, *reversed(target_part[:-1]))
        return Chain(frames, common, invert_rigid(T_common_from_target) @ T_common_from_source)
