"""place_people_of_cameras: the people of several cameras placed in one batch, each from its own camera alone,
equal one place_people call per camera (with and without a floor, with and without measured skeletons)."""

from __future__ import annotations

import numpy as np
import pytest
from fusion_data import ceiling_room, keypoints_of, standing_person

from orpose_ros.geometry.body_model import standing_template_h36m
from orpose_ros.geometry.placement import PlacementOptions, place_people, place_people_of_cameras

FIELDS = ("pelvis", "joints_coco", "joints_h36m", "residual_px", "joint_residual_px")


@pytest.mark.parametrize("method", ["skeleton", "floor", "skeleton+floor"])
@pytest.mark.parametrize("with_floor", [True, False])
def test_one_batch_equals_one_call_per_camera(method: str, with_floor: bool) -> None:
    room = ceiling_room(3)
    cameras = [room.camera(n) for n in room.names]
    rng = np.random.default_rng(3)
    people = [standing_person((x, y), h) for x, y, h in ((-1.0, 0.3, 0.2), (0.6, -0.8, 2.0), (0.9, 0.9, 4.0),
                                                           (-0.4, -1.2, 1.0), (0.1, 0.2, 5.5))]  # fmt: skip
    views = np.array([0, 2, 0, 1, 2])
    keypoints = np.stack([keypoints_of(cameras[v], p) for v, p in zip(views, people, strict=True)])
    keypoints[..., :2] += rng.normal(0.0, 2.0, keypoints[..., :2].shape)
    keypoints[1, 9:, 2] = 0.0  # a person with missing keypoints
    skeletons = np.full((5, 17, 3), np.nan)
    skeletons[3] = standing_template_h36m()  # one measured skeleton (its axes do not matter here)
    floor = room.floor if with_floor else None
    options = PlacementOptions(method=method)
    batch = place_people_of_cameras(cameras, views, keypoints, skeletons, floor=floor, up_world=np.array([0, 0, 1.0]),
                                    options=options)  # fmt: skip
    for v, camera in enumerate(cameras):
        mine = views == v
        alone = place_people(camera, keypoints[mine], skeletons[mine], floor=floor, up_world=np.array([0, 0, 1.0]),
                             options=options)  # fmt: skip
        np.testing.assert_array_equal(batch.success[mine], alone.success)
        np.testing.assert_array_equal(batch.method[mine], alone.method)
        for name in FIELDS:
            np.testing.assert_allclose(getattr(batch, name)[mine], getattr(alone, name), atol=1e-9, equal_nan=True)
    templated = [0, 1, 2, 4]  # placed with the template (person 3's skeleton is not in camera axes)
    assert batch.success[templated].all()
    # each person is in its own camera's frame: back in the world, near where they stand
    for k in templated:
        v, person = views[k], people[k]
        pelvis = cameras[v].to_world(batch.pelvis[k])
        assert np.linalg.norm(pelvis[:2] - person[[11, 12]].mean(axis=0)[:2]) < 0.5
