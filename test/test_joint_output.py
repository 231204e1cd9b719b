"""Which joints are output (fusion.joint_output): views per joint, uncertainty cap; through FusionStream and
orpose-fuse's JSON."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from fusion_data import ceiling_room, keypoints_of, standing_person

from orpose_ros.cli.fuse import main as fuse_main
from orpose_ros.fusion.detections import PersonDetection
from orpose_ros.fusion.joint_output import JointOutputOptions, output_joints
from orpose_ros.fusion.pipeline import SINGLE_VIEW, TRIANGULATED, FusedPerson
from orpose_ros.fusion.stream import FusionStream, StreamOptions
from orpose_ros.skeleton import COCO_KEYPOINT_NAMES

LEFT_WRIST = COCO_KEYPOINT_NAMES.index("left_wrist")
NOSE = COCO_KEYPOINT_NAMES.index("nose")


def person(views: np.ndarray, placement: str = TRIANGULATED, sigma_m: float | None = None) -> FusedPerson:
    joints = np.where((views > 0)[:, None], standing_person((0.0, 0.0)), np.nan)
    covariance = None if sigma_m is None else np.broadcast_to(np.diag([sigma_m**2, 0.01**2, 0.01**2]), (17, 3, 3))
    return FusedPerson(joints, np.full(17, 0.9), views.copy(), np.zeros(17), 0.9, ("cam1", "cam2"), (0, 0),
                       placement, joint_views=np.stack([views > 0, views > 1]), joint_covariance=covariance)


def test_min_views_drops_filled_joints_of_triangulated_people_only() -> None:
    views = np.full(17, 2)
    views[LEFT_WRIST] = 1
    kept = output_joints(person(views), JointOutputOptions(min_views=2))
    assert kept is not None
    assert np.isnan(kept.joints[LEFT_WRIST]).all()
    assert kept.num_views[LEFT_WRIST] == 0
    assert kept.confidence[LEFT_WRIST] == 0.0
    assert not kept.joint_views[:, LEFT_WRIST].any()
    assert np.isfinite(np.delete(kept.joints, LEFT_WRIST, axis=0)).all()
    single = person(np.ones(17, dtype=np.int64), f"{SINGLE_VIEW} skeleton+floor")
    assert output_joints(single, JointOutputOptions(min_views=2)) is single  # placed from one camera: whole
    three = output_joints(person(views), JointOutputOptions(min_views=3))
    assert three is None  # nothing placed from 3 cameras: no person


@pytest.mark.parametrize(("cap_m", "kept"), [(0.199, False), (0.201, True)])
def test_the_uncertainty_cap_from_both_sides(cap_m: float, kept: bool) -> None:
    views = np.full(17, 2)
    out = output_joints(person(views, sigma_m=0.2), JointOutputOptions(max_sigma_m=cap_m))
    assert (out is not None) == kept
    if out is not None:
        assert np.isfinite(out.joint_covariance).all()


def test_the_cap_drops_single_joints_and_leaves_the_rest() -> None:
    views = np.full(17, 2)
    p = person(views, sigma_m=0.05)
    covariance = p.joint_covariance.copy()
    covariance[NOSE] = np.diag([0.3**2, 0.01, 0.01])
    out = output_joints(replace(p, joint_covariance=covariance), JointOutputOptions(max_sigma_m=0.2))
    assert out is not None
    assert np.isnan(out.joints[NOSE]).all()
    assert np.isnan(out.joint_covariance[NOSE]).all()
    assert int((out.num_views > 0).sum()) == 16


def test_the_default_outputs_everything_and_bad_options_are_refused() -> None:
    p = person(np.ones(17, dtype=np.int64))
    assert JointOutputOptions().keeps_everything
    assert output_joints(p, JointOutputOptions()) is p
    assert not JointOutputOptions(max_sigma_m=1.0).keeps_everything
    with pytest.raises(ValueError, match="min_views"):
        JointOutputOptions(min_views=0)
    with pytest.raises(ValueError, match="max_sigma_m"):
        JointOutputOptions(max_sigma_m=0.0)
    assert math.isinf(JointOutputOptions().max_sigma_m)


def _frame_with_a_joint_one_camera_sees(calibration) -> dict[str, list[PersonDetection]]:
    joints = standing_person((0.3, -0.2))
    detections = {}
    for k, name in enumerate(calibration.names):
        kp = keypoints_of(calibration.camera(name), joints)
        if k > 0:
            kp[LEFT_WRIST, 2] = 0.0  # only the first camera sees the left wrist
        detections[name] = [PersonDetection(kp, 0.9, None, 0)]
    return detections


def test_the_stream_outputs_the_joints_its_policy_keeps() -> None:
    calibration = ceiling_room(3)
    detections = _frame_with_a_joint_one_camera_sees(calibration)
    everything = FusionStream(calibration).process(0.0, detections)
    assert len(everything) == 1
    assert everything[0].num_views[LEFT_WRIST] == 1  # filled, and says so
    strict = FusionStream(calibration, StreamOptions(output=JointOutputOptions(min_views=2)))
    people = strict.process(0.0, detections)
    assert len(people) == 1
    assert people[0].num_views[LEFT_WRIST] == 0
    assert np.isnan(people[0].joints[LEFT_WRIST]).all()
    np.testing.assert_allclose(people[0].joints[NOSE], everything[0].joints[NOSE])
    assert people[0].id == 0  # tracked as before


def test_orpose_fuse_writes_views_and_uncertainty_per_joint(tmp_path: Path) -> None:
    from test_cli_fuse import write_calibration, write_results

    calibration = tmp_path / "room.yaml"
    write_calibration(calibration)
    results = write_results(tmp_path)
    outputs = {}
    for min_views in ("1", "2"):
        out = tmp_path / f"fused_{min_views}.json"
        assert fuse_main(["--calibration", str(calibration), *map(str, results), "--json", str(out),
                          "--min-views", min_views, "--max-joint-sigma", "0.5"]) == 0  # fmt: skip
        outputs[min_views] = json.loads(out.read_text())
    person = outputs["1"]["frames"][0]["persons"][0]
    assert person["joint_views"] == [3] * 17  # every joint triangulated from the 3 cameras
    assert all(0.0 < s < 0.1 for s in person["joint_sigma_m"])
    assert outputs["2"]["frames"][0]["persons"][0]["joint_views"] == [3] * 17


@pytest.mark.ros
def test_the_fusion_node_parameters_give_the_policy() -> None:
    from orpose_ros.ros.fusion_node import FusionConfig

    assert FusionConfig(calibration="room.yaml").stream_options().output == JointOutputOptions()
    strict = replace(FusionConfig(calibration="room.yaml"), joint_min_views=2, joint_max_sigma_m=0.3)
    assert strict.stream_options().output == JointOutputOptions(min_views=2, max_sigma_m=0.3)


def varied_person(views: np.ndarray, covariance: np.ndarray | None, joint_views: bool = True) -> FusedPerson:
    """A person whose per-joint fields all differ, NaN / 0 where a joint was not placed (views 0)."""
    placed = views > 0
    joints = np.where(placed[:, None], standing_person((0.4, -0.3)), np.nan)
    confidence = np.where(placed, np.linspace(0.3, 0.95, 17), 0.0)
    error = np.where(placed, np.linspace(0.5, 4.5, 17), np.nan)
    jv = np.stack([placed, views > 1, views > 2]) if joint_views else None
    return FusedPerson(joints, confidence, views.copy(), error, 0.9, ("a", "b", "c"), (0, 1, 2), TRIANGULATED,
                       joint_views=jv, joint_covariance=covariance)


def expected_after_dropping(p: FusedPerson, drop: np.ndarray) -> dict[str, np.ndarray]:
    """The documented result: a dropped joint is NaN, confidence 0, 0 views, NaN error and covariance."""
    out = {
        "joints": np.where(drop[:, None], np.nan, p.joints),
        "confidence": np.where(drop, 0.0, p.confidence),
        "num_views": np.where(drop, 0, p.num_views),
        "reprojection_error_px": np.where(drop, np.nan, p.reprojection_error_px),
    }
    if p.joint_covariance is not None:
        out["joint_covariance"] = np.where(drop[:, None, None], np.nan, p.joint_covariance)
    if p.joint_views is not None:
        out["joint_views"] = p.joint_views & ~drop[None]
    return out


def sigma_covariance(sigma_m: np.ndarray) -> np.ndarray:
    """(17, 3, 3) covariances whose largest standard deviation is ``sigma_m`` (along y), NaN where sigma is NaN."""
    cov = np.zeros((17, 3, 3))
    cov[:, 0, 0] = cov[:, 2, 2] = 0.01**2
    cov[:, 1, 1] = sigma_m**2
    return np.where(np.isnan(sigma_m)[:, None, None], np.nan, cov)


def test_every_field_of_a_dropped_joint_is_cleared_and_the_others_are_kept() -> None:
    views = np.array([3, 2, 1, 0, 2, 1, 3, 3, 2, 0, 1, 2, 2, 3, 3, 2, 1])
    sigma = np.where(views > 0, 0.05, np.nan)
    sigma[[0, 4]] = [0.8, 0.5]  # joint 0: over the cap; joint 4: exactly at the cap ("at most": kept)
    p = varied_person(views, sigma_covariance(sigma))
    out = output_joints(p, JointOutputOptions(min_views=2, max_sigma_m=0.5 * (1 - 1e-12)))
    drop = (views > 0) & ((views < 2) | (sigma > 0.5 * (1 - 1e-12)))
    assert drop[[0, 2, 4, 5]].all()
    for field, expected in expected_after_dropping(p, drop).items():
        np.testing.assert_array_equal(getattr(out, field), expected, err_msg=field)
    at_the_cap = output_joints(p, JointOutputOptions(min_views=2, max_sigma_m=0.5))
    assert np.isfinite(at_the_cap.joints[4]).all()
    # the cap alone keeps joints seen once; views alone keep the uncertain ones
    cap_only = output_joints(p, JointOutputOptions(max_sigma_m=0.2))
    np.testing.assert_array_equal(cap_only.num_views, np.where((views > 0) & (sigma > 0.2), 0, views))


def test_without_a_covariance_or_joint_views_only_the_views_rule_applies() -> None:
    views = np.array([3, 2, 1, 0, 2, 1, 3, 3, 2, 0, 1, 2, 2, 3, 3, 2, 1])
    p = varied_person(views, None, joint_views=False)
    out = output_joints(p, JointOutputOptions(min_views=2, max_sigma_m=0.1))
    drop = (views > 0) & (views < 2)
    for field, expected in expected_after_dropping(p, drop).items():
        np.testing.assert_array_equal(getattr(out, field), expected, err_msg=field)
    assert out.joint_views is None
    assert out.joint_covariance is None
