"""The joint uncertainty model (`fusion.uncertainty`) checked against MVOR's 3D ground truth.

The fused people of each frame get their joint covariances as `fusion.stream.FusionStream` gives them, are
matched to the ground truth as in `fusion.mvor_evaluation` (same person distance, same 0.5 m limit), and each
matched joint MVOR and COCO share contributes its error and stated covariance to
`fusion.uncertainty_calibration.calibration_summary`, split by joint group (arms: shoulders, elbows, wrists;
hips, whose COCO and MVOR definitions differ by ~12 cm) and by the number of views that placed the joint.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from orpose_ros.evaluation.mvor import MvorDataset, mvor_to_coco_indices
from orpose_ros.evaluation.mvor_evaluation import MATCH_DISTANCE_M, Evaluation
from orpose_ros.fusion.pipeline import FusedPerson
from orpose_ros.fusion.stream import with_joint_covariance
from orpose_ros.fusion.uncertainty import UncertaintyOptions
from orpose_ros.fusion.uncertainty_calibration import EXPECTED_MAHALANOBIS, EXPECTED_PER_AXIS, calibration_summary


def mvor_uncertainty(dataset: MvorDataset, fused: Sequence[Sequence[FusedPerson]],
                     options: UncertaintyOptions | None = None) -> dict[str, dict[str, float | int]]:
    """Calibration of the stated joint uncertainty per group (``arms, 1 view``, ``arms, 2+ views``, ``hips, ...``,
    ``all``), given the fused people of each of ``dataset.frames``."""
    options = options or UncertaintyOptions()
    evaluation = Evaluation(dataset.joint_names, dataset.calibration)
    shared = mvor_to_coco_indices(dataset.joint_names)
    mvor, coco = np.array(list(shared)), np.array(list(shared.values()))
    hip = np.array([dataset.joint_names[i].endswith("hip") for i in mvor])
    errors: dict[str, list[np.ndarray]] = {}
    covariances: dict[str, list[np.ndarray]] = {}
    for frame, people in zip(dataset.frames, fused, strict=True):
        people = [with_joint_covariance(p, dataset.calibration, options, options.keypoint_noise_px) for p in people]
        distance = evaluation.person_distances(frame, people)
        if not distance.size:
            continue
        rows, cols = linear_sum_assignment(np.where(np.isfinite(distance), distance, 1e6))
        for r, c in zip(rows, cols, strict=True):
            if distance[r, c] > MATCH_DISTANCE_M or people[c].joint_covariance is None:
                continue
            error = people[c].joints[coco] - frame.people[r].joints_world[mvor]
            covariance = people[c].joint_covariance[coco]
            views = people[c].num_views[coco]
            for k in range(len(mvor)):
                group = f"{'hips' if hip[k] else 'arms'}, {'1 view' if views[k] == 1 else '2+ views'}"
                for key in (group, "all"):
                    errors.setdefault(key, []).append(error[k])
                    covariances.setdefault(key, []).append(covariance[k])
    return {key: calibration_summary(np.array(errors[key]), np.array(covariances[key])) for key in sorted(errors)}


def uncertainty_table(calibration: dict[str, dict[str, float | int]]) -> str:
    """`mvor_uncertainty`'s result as a Markdown table, with the fractions a calibrated model would give."""
    axis, mahalanobis = (round(100 * f, 1) for f in EXPECTED_PER_AXIS), (round(100 * f, 1) for f in
                                                                         EXPECTED_MAHALANOBIS)
    a1, a2 = axis
    m1, m2 = mahalanobis
    lines = ["Stated joint uncertainty against MVOR's 3D ground truth (whitened error components within 1 / 2 "
             f"sigmas: {a1} / {a2} % if calibrated; Mahalanobis distance within 1 / 2: {m1} / {m2} %):", "",
             "| joints | count | median error | per axis within 1 / 2 sigmas | Mahalanobis within 1 / 2 |",
             "|---|---|---|---|---|"]
    for key, s in calibration.items():
        if s.get("joints"):
            lines.append(f"| {key} | {s['joints']} | {s['median_error_cm']} cm | {s['per_axis_within_1_sigma_percent']}"
                         f" / {s['per_axis_within_2_sigma_percent']} % | {s['mahalanobis_within_1_percent']} / "
                         f"{s['mahalanobis_within_2_percent']} % |")
    return "\n".join(lines) + "\n"
