"""Single-camera placement on MVOR by the person's distance to the camera (``orpose-eval-mvor --distance-study``).

Every camera's detections are fused from that camera alone (single-camera placement only); each ground-truth
person annotated in that camera is compared with the nearest placed person: mean distance [m] over the joints
MVOR and COCO share (shoulders, elbows, wrists, hips), found when <= `MATCH_DISTANCE_M`. The person-views are
binned by the distance [m] from the camera's optical centre to the person's mean annotated joint.
"""

from __future__ import annotations

import itertools

import numpy as np

from orpose_ros.evaluation.mvor import MvorDataset, mvor_to_coco_indices
from orpose_ros.evaluation.mvor_evaluation import MATCH_DISTANCE_M
from orpose_ros.fusion.pipeline import FusionOptions, fuse_frame

#: Bin edges [m] of the distance to the camera.
DISTANCE_BINS_M = (0.0, 2.0, 2.5, 3.0, 4.0, 5.0, 7.0, 10.0)
#: A miss whose nearest placed person is farther than this [m] had no placed detection near it.
_NOTHING_NEAR_M = 2.0


def distance_study(dataset: MvorDataset, options: FusionOptions) -> list[dict]:
    """Per distance bin with person-views: their count, the share found [%], the misses, and the misses with no
    placed person within 2 m (see module doc)."""
    shared = mvor_to_coco_indices(dataset.joint_names)
    mvor, coco = np.array(list(shared)), np.array(list(shared.values()))
    rows = []  # (distance to the camera [m], distance to the nearest placed person [m])
    for frame in dataset.frames:
        for name, detections in frame.detections.items():
            camera = dataset.calibration.camera(name)
            people = fuse_frame(dataset.calibration, {name: detections}, options)
            for person in frame.people:
                if name not in person.cameras:
                    continue
                truth = person.joints_world[mvor]
                distance = float(np.linalg.norm(np.nanmean(truth, axis=0) - camera.centre_world))
                errors = [np.nanmean(np.linalg.norm(truth - p.joints[coco], axis=-1)) for p in people]
                errors = [e for e in errors if np.isfinite(e)]
                rows.append((distance, min(errors) if errors else np.inf))
    out = []
    for low, high in itertools.pairwise(DISTANCE_BINS_M):
        errors = np.array([e for d, e in rows if low <= d < high])
        if not len(errors):
            continue
        missed = errors > MATCH_DISTANCE_M
        out.append({"distance_m": [low, high], "person_views": len(errors),
                    "found_percent": round(100.0 * float(np.mean(~missed)), 1), "missed": int(missed.sum()),
                    "missed_nothing_near": int((errors > _NOTHING_NEAR_M).sum())})
    return out


def distance_table(study: list[dict]) -> str:
    """The study as a Markdown table."""
    lines = ["| distance to the camera | person-views | found | missed with no placed person within 2 m |",
             "|---|---|---|---|"]
    lines += [f"| {b['distance_m'][0]}-{b['distance_m'][1]} m | {b['person_views']} | {b['found_percent']} % | "
              f"{b['missed_nothing_near']} of {b['missed']} |" for b in study]
    return "\n".join(lines) + "\n"
