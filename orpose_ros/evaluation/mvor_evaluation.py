"""Scoring fused people against MVOR's 3D ground truth.

Definitions (also in docs/fusion.md):

- person distance: mean distance [m] over the joints both annotated in the ground truth (placeholders
  excluded) and placed in the prediction, among the joints MVOR and COCO share (shoulders, elbows,
  wrists, hips); infinite when there is none;
- matching: per frame, ground-truth people and predictions are paired one-to-one by
  `scipy.optimize.linear_sum_assignment` on that distance; a pair farther than 0.5 m is no match;
- recall: matched ground-truth people / ground-truth people, split by the number of cameras whose image
  annotates the person's keypoints (1, 2, 3);
- error per joint group: distances [cm] of the matched people's joints annotated and placed;
  coverage: the fraction of annotated joints that were placed;
- false positives ("false people"): predictions matched to no ground-truth person. MVOR annotates more
  people in 2D than in 3D (box-only people, partly visible): their boxes are its ignore regions. An unmatched
  prediction whose projection lies mostly inside such a box in one camera (one prediction per box) is a
  false person "inside the ignore regions", any other one "outside";
- PCP (percentage of correct parts) over every annotated person: a limb (`PCP_LIMBS`: left and right upper
  arms, shoulder-elbow, and lower arms, elbow-wrist; MVOR annotates no legs and its hips are not COCO's) whose
  two end joints are annotated counts; it is correct when its person is matched and both its end joints are
  placed within half the limb's true length of the truth. A person not found has all its limbs wrong;
- errors per joint kind (`fusion.joint_kinds`): triangulated joints, joints filled from one camera of a
  triangulated person, joints of single-camera people, over the matched people;
- joints output for found people: placed / annotated joints (shoulders, elbows, wrists, hips) of the
  matched people.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from orpose_ros.evaluation.mvor import MvorDataset, MvorFrame, mvor_to_coco_indices
from orpose_ros.fusion.joint_kinds import JOINT_KINDS, joint_kinds
from orpose_ros.fusion.pipeline import FusedPerson
from orpose_ros.geometry.calibration import RoomCalibration
from orpose_ros.geometry.triangulation import triangulate

MATCH_DISTANCE_M = 0.5
JOINT_GROUPS = ("shoulder", "elbow", "wrist", "hip")
SPLITS = ("1", "2", "3", "all")
_UNMATCHED = 1e6
_INSIDE_FRACTION = 0.5
#: The limbs PCP scores (MVOR joint names): upper arms, lower arms.
PCP_LIMBS = (("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow"),
             ("left_elbow", "left_wrist"), ("right_elbow", "right_wrist"))  # fmt: skip
#: A limb is correct when both end joints are within this fraction of its true length.
PCP_FRACTION = 0.5
_ARMS = ("shoulder", "elbow", "wrist")


def _mean_cm(values: list[float]) -> float | None:
    return round(100.0 * float(np.mean(values)), 1) if values else None


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


@dataclass
class SplitScores:
    """Accumulated scores of the ground-truth people seen by a given number of cameras."""

    people: int = 0
    found: int = 0
    errors_m: dict[str, list[float]] = field(default_factory=lambda: {g: [] for g in JOINT_GROUPS})
    annotated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(JOINT_GROUPS, 0))
    triangulated_errors_m: dict[str, list[float]] = field(default_factory=lambda: {g: [] for g in JOINT_GROUPS})
    kind_errors_m: dict[str, dict[str, list[float]]] = field(
        default_factory=lambda: {k: {g: [] for g in JOINT_GROUPS} for k in JOINT_KINDS}
    )
    limbs: int = 0
    correct_limbs: int = 0
    found_annotated: int = 0
    found_placed: int = 0

    def summary(self) -> dict:
        """Recall [%], mean error [cm] and coverage [%] per joint group, and the same over shoulders, elbows
        and wrists ("arms"), for all placed joints and for joints placed from >= 2 cameras; PCP [%]; arm errors
        [cm] and joint counts per joint kind; joints output for found people [%]."""
        mean_cm, arms = _mean_cm, _ARMS
        out = {
            "people": self.people,
            "found": self.found,
            "recall_percent": round(100.0 * self.found / self.people, 1) if self.people else None,
            "error_cm": {g: mean_cm(self.errors_m[g]) for g in JOINT_GROUPS},
            "arms_error_cm": mean_cm([e for g in arms for e in self.errors_m[g]]),
            "arms_error_cm_triangulated_joints": mean_cm([e for g in arms for e in self.triangulated_errors_m[g]]),
            "coverage_percent": {
                g: round(100.0 * len(self.errors_m[g]) / self.annotated[g], 1) if self.annotated[g] else None
                for g in JOINT_GROUPS
            },
            "pcp_percent": _percent(self.correct_limbs, self.limbs),
            "limbs": self.limbs,
            "arms_error_cm_by_kind": {k: mean_cm([e for g in arms for e in self.kind_errors_m[k][g]])
                                      for k in JOINT_KINDS},
            "arm_joints_by_kind": {k: sum(len(self.kind_errors_m[k][g]) for g in arms) for k in JOINT_KINDS},
            "hips_error_cm_by_kind": {k: mean_cm(self.kind_errors_m[k]["hip"]) for k in JOINT_KINDS},
            "joints_output_for_found_people_percent": _percent(self.found_placed, self.found_annotated),
        }
        return out


@dataclass
class Evaluation:
    """Scores of a run over MVOR frames; `add_frame` for each, then `summary`."""

    joint_names: tuple[str, ...]
    calibration: RoomCalibration
    splits: dict[str, SplitScores] = field(default_factory=lambda: {s: SplitScores() for s in SPLITS})
    frames: int = 0
    false_positives: int = 0
    on_2d_only_people: int = 0
    placements: dict[str, int] = field(default_factory=dict)
    times_ms: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        shared = mvor_to_coco_indices(self.joint_names)
        self._mvor = np.array(list(shared.keys()), dtype=np.int64)
        self._coco = np.array(list(shared.values()), dtype=np.int64)
        self._group = [next(g for g in JOINT_GROUPS if self.joint_names[i].endswith(g)) for i in self._mvor]
        limbs = [(a, b) for a, b in PCP_LIMBS if a in self.joint_names and b in self.joint_names]
        self._limb_mvor = np.array([[self.joint_names.index(a), self.joint_names.index(b)] for a, b in limbs],
                                   dtype=np.int64).reshape(-1, 2)
        coco = mvor_to_coco_indices(self.joint_names)
        self._limb_coco = np.array([[coco[a], coco[b]] for a, b in self._limb_mvor], dtype=np.int64).reshape(-1, 2)

    def person_distances(self, frame: MvorFrame, people: Sequence[FusedPerson]) -> np.ndarray:
        """(G, P) person distances [m] between ground truth and predictions (inf without common joints)."""
        if not frame.people or not people:
            return np.full((len(frame.people), len(people)), np.inf)
        gt = np.stack([p.joints_world[self._mvor] for p in frame.people])[:, None]  # (G, 1, S, 3)
        pred = np.stack([p.joints[self._coco] for p in people])[None]  # (1, P, S, 3)
        distance = np.linalg.norm(gt - pred, axis=-1)
        both = np.isfinite(distance)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(both, distance, 0.0).sum(axis=-1) / both.sum(axis=-1)
        return np.where(both.any(axis=-1), mean, np.inf)

    def add_frame(self, frame: MvorFrame, people: Sequence[FusedPerson], time_ms: float | None = None) -> None:
        """Score the predictions ``people`` of one frame."""
        self.frames += 1
        if time_ms is not None:
            self.times_ms.append(time_ms)
        distance = self.person_distances(frame, people)
        matched: dict[int, int] = {}
        if distance.size:
            rows, cols = linear_sum_assignment(np.where(np.isfinite(distance), distance, _UNMATCHED))
            matched = {int(c): int(r) for r, c in zip(rows, cols, strict=True) if distance[r, c] <= MATCH_DISTANCE_M}
        for g, person in enumerate(frame.people):
            for split in (str(min(len(person.cameras), 3)), "all"):
                scores = self.splits[split]
                scores.people += 1
                annotated = np.isfinite(person.joints_world[self._mvor, 0])
                for k, group in enumerate(self._group):
                    scores.annotated[group] += int(annotated[k])
                prediction = next((p for p, r in matched.items() if r == g), None)
                scores.limbs += self._count_limbs(person.joints_world)
                if prediction is None:
                    continue
                scores.found += 1
                predicted = people[prediction]
                scores.correct_limbs += self._correct_limbs(person.joints_world, predicted.joints)
                kinds = joint_kinds(predicted)[self._coco]
                error = np.linalg.norm(person.joints_world[self._mvor] - predicted.joints[self._coco], axis=-1)
                scores.found_annotated += int(annotated.sum())
                scores.found_placed += int((annotated & np.isfinite(error)).sum())
                for k, group in enumerate(self._group):
                    if np.isfinite(error[k]):
                        scores.errors_m[group].append(float(error[k]))
                        if kinds[k]:
                            scores.kind_errors_m[str(kinds[k])][group].append(float(error[k]))
                        if predicted.num_views[self._coco[k]] >= 2:
                            scores.triangulated_errors_m[group].append(float(error[k]))
        for p, person in enumerate(people):
            if p in matched:
                self.placements[person.placement] = self.placements.get(person.placement, 0) + 1
        unmatched = [p for p in range(len(people)) if p not in matched]
        explained = self._on_2d_only_people(frame, [people[p] for p in unmatched])
        self.false_positives += len(unmatched)
        self.on_2d_only_people += explained

    def _count_limbs(self, truth: np.ndarray) -> int:
        """How many `PCP_LIMBS` have both end joints annotated in ``truth`` (MVOR-10, 3) [m]."""
        return int(np.all(np.isfinite(truth[self._limb_mvor, 0]), axis=1).sum())

    def _correct_limbs(self, truth: np.ndarray, joints: np.ndarray) -> int:
        """How many annotated `PCP_LIMBS` of ``truth`` (MVOR-10, 3) [m] the predicted COCO-17 ``joints`` [m] get
        right: both end joints placed within `PCP_FRACTION` of the true limb length."""
        ends = truth[self._limb_mvor]  # (L, 2, 3)
        length = np.linalg.norm(ends[:, 0] - ends[:, 1], axis=-1)  # (L,)
        error = np.linalg.norm(joints[self._limb_coco] - ends, axis=-1)  # (L, 2), NaN where not placed/annotated
        with np.errstate(invalid="ignore"):
            return int(np.all(error <= PCP_FRACTION * length[:, None], axis=1).sum())

    def _on_2d_only_people(self, frame: MvorFrame, people: Sequence[FusedPerson]) -> int:
        """How many of ``people`` project mostly inside the box of a person MVOR annotates only in 2D
        (one prediction per box and camera)."""
        explained: set[int] = set()
        for name, boxes in frame.unlabelled_boxes.items():
            candidates = [p for p in range(len(people)) if p not in explained]
            if not len(boxes) or not candidates:
                continue
            uv = self.calibration.camera(name).project(np.stack([people[p].joints for p in candidates]))
            x, y = uv[..., 0][:, None], uv[..., 1][:, None]  # (C, 1, 17)
            b = boxes[None, :, :, None]  # (1, B, 4, 1)
            inside = (x >= b[:, :, 0]) & (x <= b[:, :, 2]) & (y >= b[:, :, 1]) & (y <= b[:, :, 3])  # (C, B, 17)
            placed = np.isfinite(uv[..., 0]).sum(axis=-1)[:, None]  # (C, 1)
            with np.errstate(invalid="ignore", divide="ignore"):
                fraction = np.where(placed > 0, inside.sum(axis=-1) / placed, 0.0)
            rows, cols = linear_sum_assignment(-fraction)
            explained.update(
                candidates[r] for r, c in zip(rows, cols, strict=True) if fraction[r, c] >= _INSIDE_FRACTION
            )
        return len(explained)

    def summary(self) -> dict:
        """All scores as plain numbers (JSON-ready)."""
        times = np.array(self.times_ms) if self.times_ms else np.zeros(0)
        return {
            "frames": self.frames,
            "splits": {s: self.splits[s].summary() for s in SPLITS},
            "false_positives_per_frame": round(self.false_positives / max(self.frames, 1), 3),
            "false_positives_per_frame_excluding_2d_only_people": round(
                (self.false_positives - self.on_2d_only_people) / max(self.frames, 1), 3
            ),
            "false_people_per_frame": {
                "outside_ignore_regions": round((self.false_positives - self.on_2d_only_people) / max(self.frames, 1),
                                                3),
                "inside_ignore_regions": round(self.on_2d_only_people / max(self.frames, 1), 3),
                "all": round(self.false_positives / max(self.frames, 1), 3),
            },
            "matched_placements": dict(sorted(self.placements.items())),
            "fusion_ms_per_frame": {
                "mean": round(float(times.mean()), 3) if times.size else None,
                "median": round(float(np.median(times)), 3) if times.size else None,
                "p95": round(float(np.percentile(times, 95)), 3) if times.size else None,
                "max": round(float(times.max()), 3) if times.size else None,
            },
        }


def markdown_table(summary: dict) -> str:
    """The evaluation summary as a Markdown table (one row per camera-count split)."""
    header = (
        "| cameras annotating the person | people | recall | shoulders | elbows | wrists | hips | "
        "shoulders+elbows+wrists (all joints / joints from >= 2 cameras) | arm joints placed |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
    )

    def cm(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f} cm"

    rows = []
    for split in SPLITS:
        s = summary["splits"][split]
        arm_coverage = [s["coverage_percent"][g] for g in ("shoulder", "elbow", "wrist")]
        coverage = "-" if None in arm_coverage else f"{np.mean(arm_coverage):.0f} %"
        recall = "-" if s["recall_percent"] is None else f"{s['recall_percent']:.1f} %"
        errors = " | ".join(cm(s["error_cm"][g]) for g in JOINT_GROUPS)
        arms = f"{cm(s['arms_error_cm'])} / {cm(s['arms_error_cm_triangulated_joints'])}"
        rows.append(f"| {split} | {s['people']} | {recall} | {errors} | {arms} | {coverage} |")
    t = summary["fusion_ms_per_frame"]
    footer = (
        f"\nFalse positives per frame: {summary['false_positives_per_frame']:.2f} (predictions matched to no 3D "
        f"ground-truth person); {summary['false_positives_per_frame_excluding_2d_only_people']:.2f} excluding "
        "predictions on people MVOR annotates in 2D only.\n"
        f"Fusion time per 3-camera frame: mean {t['mean']} ms, median {t['median']} ms, p95 {t['p95']} ms, "
        f"max {t['max']} ms ({summary['frames']} frames).\n"
    )
    return header + "\n".join(rows) + "\n" + footer


def details_table(summary: dict) -> str:
    """PCP, joints output, false people and arm errors per joint kind (Markdown), by camera-count split."""
    def value(v: float | None, unit: str) -> str:
        return "-" if v is None else f"{v:.1f}{unit}"

    lines = [
        "| cameras annotating the person | PCP (arms, every person) | joints output for found people | "
        + " | ".join(f"shoulders+elbows+wrists, {k} joints" for k in JOINT_KINDS) + " |",
        "|---|---|---|" + "---|" * len(JOINT_KINDS),
    ]
    for split in SPLITS:
        s = summary["splits"][split]
        kinds = " | ".join(
            f"{value(s['arms_error_cm_by_kind'][k], ' cm')} ({s['arm_joints_by_kind'][k]})" for k in JOINT_KINDS
        )
        lines.append(f"| {split} | {value(s['pcp_percent'], ' %')} ({s['limbs']} limbs) | "
                     f"{value(s['joints_output_for_found_people_percent'], ' %')} | {kinds} |")
    f = summary["false_people_per_frame"]
    return "\n".join(lines) + (
        f"\n\nFalse people per frame: {f['outside_ignore_regions']:.2f} outside MVOR's ignore regions (boxes of "
        f"people annotated in 2D only), {f['inside_ignore_regions']:.2f} inside, {f['all']:.2f} in all.\n"
    )


def annotation_consistency(dataset: MvorDataset) -> dict[str, dict[str, float | int]]:
    """How well MVOR's own 2D annotations agree with its 3D ones: each ground-truth person's annotated 2D
    keypoints are triangulated (`geometry.triangulation.triangulate`, the fusion's) and compared with the 3D
    ground truth, over shoulders, elbows and wrists, by number of views: about the best any method whose
    2D keypoints match the annotations can score."""
    cameras = dataset.calibration.complete_cameras()
    P = np.stack([c.projection_matrix for c in cameras])
    shared = np.array(
        [i for i in mvor_to_coco_indices(dataset.joint_names) if not dataset.joint_names[i].endswith("hip")]
    )
    errors: dict[int, list[float]] = {}
    for frame in dataset.frames:
        for person in frame.people:
            uv = np.full((len(cameras), len(dataset.joint_names), 2), np.nan)
            w = np.zeros((len(cameras), len(dataset.joint_names)))
            for v, camera in enumerate(cameras):
                kp = person.keypoints_2d.get(camera.name)
                if kp is not None:
                    seen = kp[:, 2] > 0
                    uv[v, seen], w[v, seen] = camera.undistort_pixels(kp[seen, :2]), 1.0
            result = triangulate(P, uv, w)
            error = np.linalg.norm(result.points[shared] - person.joints_world[shared], axis=-1)
            for e, views in zip(error, result.num_views[shared], strict=True):
                if np.isfinite(e):
                    errors.setdefault(int(views), []).append(float(e))
    return {
        f"{views} views": {"joints": len(e), "mean_error_cm": round(100.0 * float(np.mean(e)), 1)}
        for views, e in sorted(errors.items())
    }
