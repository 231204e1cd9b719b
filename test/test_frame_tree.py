"""Chains of static transforms (geometry.frame_tree) and camera poses from them (geometry.tf_cameras), with
hand-computed asymmetric chains: a composition in the wrong order or direction lands elsewhere."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from orpose_ros.geometry.frame_tree import FrameLookupError, FrameTree
from orpose_ros.geometry.tf_cameras import PoseState, TfCameraPoses
from orpose_ros.geometry.transforms import transform_points


def rigid(translation: tuple[float, float, float], euler_deg: tuple[str, float] = ("z", 0.0)) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = Rotation.from_euler(euler_deg[0], euler_deg[1], degrees=True).as_matrix()
    T[:3, 3] = translation
    return T


# world -> rig: the rig 2 m along world x, turned 90 deg about z (rig x = world y)
T_WORLD_FROM_RIG = rigid((2.0, 0.0, 0.0), ("z", 90.0))
# rig -> cam: the camera 1 m along rig x, 3 m up, turned 90 deg about rig x (cam z = rig -y... see below)
T_RIG_FROM_CAM = rigid((1.0, 0.0, 3.0), ("x", 90.0))


def test_a_two_link_chain_composes_parent_first() -> None:
    tree = FrameTree()
    tree.set("world", "rig", T_WORLD_FROM_RIG)
    tree.set("rig", "cam", T_RIG_FROM_CAM)
    chain = tree.lookup("world", "cam")
    assert chain.frames == ("cam", "rig", "world")
    assert chain.common == "world"
    # by hand: the camera centre is rig (1, 0, 3) -> world (2, 0, 0) + Rz90 (1, 0, 3) = (2, 1, 3)
    np.testing.assert_allclose(chain.T_target_from_source[:3, 3], [2.0, 1.0, 3.0], atol=1e-12)
    # the camera's z axis: Rx90 maps z to rig -y, Rz90 maps rig -y to world +x
    np.testing.assert_allclose(chain.T_target_from_source[:3, 2], [1.0, 0.0, 0.0], atol=1e-12)
    # a point 1 m in front of the camera
    np.testing.assert_allclose(transform_points(chain.T_target_from_source, [0.0, 0.0, 1.0]), [3.0, 1.0, 3.0],
                               atol=1e-12)
    # the wrong order or direction does not give that
    for wrong in (T_RIG_FROM_CAM @ T_WORLD_FROM_RIG, np.linalg.inv(T_WORLD_FROM_RIG) @ T_RIG_FROM_CAM,
                  np.linalg.inv(T_WORLD_FROM_RIG @ T_RIG_FROM_CAM)):
        assert np.abs(wrong[:3, 3] - [2.0, 1.0, 3.0]).max() > 0.5


def test_the_inverse_lookup_and_a_common_ancestor() -> None:
    tree = FrameTree()
    tree.set("map", "world", rigid((0.0, 5.0, 0.0)))  # the world 5 m along map y
    tree.set("map", "rig", rigid((2.0, 5.0, 0.0), ("z", 90.0)))  # = world -> rig above
    tree.set("rig", "cam", T_RIG_FROM_CAM)
    chain = tree.lookup("world", "cam")
    assert chain.frames == ("cam", "rig", "map", "world")
    assert chain.common == "map"
    np.testing.assert_allclose(chain.T_target_from_source, T_WORLD_FROM_RIG @ T_RIG_FROM_CAM, atol=1e-12)
    back = tree.lookup("cam", "world")
    assert back.frames == ("world", "map", "rig", "cam")
    np.testing.assert_allclose(back.T_target_from_source @ chain.T_target_from_source, np.eye(4), atol=1e-12)
    np.testing.assert_allclose(tree.lookup("rig", "rig").T_target_from_source, np.eye(4))


def test_missing_links_and_bad_edges_are_named() -> None:
    tree = FrameTree()
    tree.set("world", "rig", T_WORLD_FROM_RIG)
    tree.set("base", "cam", T_RIG_FROM_CAM)
    with pytest.raises(FrameLookupError, match="'cam' goes up to 'base', 'world' to 'world'"):
        tree.lookup("world", "cam")
    with pytest.raises(ValueError, match="closes a loop"):
        tree.set("cam", "base", np.eye(4))
    with pytest.raises(ValueError, match="two different non-empty names"):
        tree.set("", "x", np.eye(4))
    with pytest.raises(ValueError, match="det"):
        tree.set("world", "mirror", np.diag([1.0, 1.0, -1.0, 1.0]))
    assert tree.parent("mirror") is None
    assert tree.set("world", "rig", T_WORLD_FROM_RIG) is False  # the same edge again changes nothing
    assert tree.set("world", "rig", rigid((2.0, 0.0, 0.0))) is True  # a new value replaces it
    assert len(tree) == 2


def test_a_camera_waits_for_its_chain_then_gets_its_pose() -> None:
    poses = TfCameraPoses("world", ["cam", "other"])
    changes, problems = poses.add_static([("rig", "cam", T_RIG_FROM_CAM)])
    assert problems == []
    assert [(c.frame, c.state) for c in changes] == [("cam", PoseState.WAITING), ("other", PoseState.WAITING)]
    assert "waiting for /tf_static" in changes[0].detail
    assert poses.unposed == ("cam", "other")
    changes, _ = poses.add_static([("base", "rig", np.eye(4))])  # still waiting, another link missing: not again
    assert changes == []
    changes, _ = poses.add_static([("world", "rig", T_WORLD_FROM_RIG)])
    assert [(c.frame, c.state) for c in changes] == [("cam", PoseState.READY)]  # 'other' still waits: unchanged
    assert changes[0].detail == "camera 'cam': pose from /tf_static (world -> rig -> cam)"
    np.testing.assert_allclose(poses.pose("cam")[:3, 3], [2.0, 1.0, 3.0], atol=1e-12)
    assert poses.unposed == ("other",)
    # a static transform published again with a new value moves the camera (a new calibration)
    changes, _ = poses.add_static([("world", "rig", rigid((2.5, 0.0, 0.0), ("z", 90.0)))])
    assert [(c.frame, c.state) for c in changes] == [("cam", PoseState.READY)]
    np.testing.assert_allclose(poses.pose("cam")[:3, 3], [2.5, 1.0, 3.0], atol=1e-12)
    # a bad transform is one line and kept out
    changes, problems = poses.add_static([("world", "bad", np.zeros((4, 4)))])
    assert changes == []
    assert len(problems) == 1
    assert "'world' -> 'bad'" in problems[0]


def test_a_camera_whose_chain_moves_is_refused_for_good() -> None:
    poses = TfCameraPoses("world", ["arm_cam", "wall_cam"])
    poses.add_static([("tool", "arm_cam", T_RIG_FROM_CAM), ("world", "wall_cam", T_WORLD_FROM_RIG)])
    assert poses.states == {"arm_cam": PoseState.WAITING, "wall_cam": PoseState.READY}
    changes = poses.add_dynamic(["tool", "body_1"])  # world -> tool comes on /tf: a robot arm
    assert [(c.frame, c.state) for c in changes] == [("arm_cam", PoseState.REFUSED)]
    assert "goes through a transform published on /tf (moving: tool)" in changes[0].detail
    assert poses.add_dynamic(["tool"]) == []
    # even a later static link does not bring it back
    changes, _ = poses.add_static([("world", "tool", np.eye(4))])
    assert changes == []
    assert poses.states == {"arm_cam": PoseState.REFUSED, "wall_cam": PoseState.READY}
    assert poses.unposed == ("arm_cam",)


def test_a_complete_static_chain_through_a_dynamic_frame_is_refused_but_not_one_above_the_common_frame() -> None:
    poses = TfCameraPoses("world", ["cam_a", "cam_b"])
    poses.add_static([("map", "world", np.eye(4)), ("rig", "cam_a", T_RIG_FROM_CAM), ("map", "rig", np.eye(4)),
                      ("world", "cam_b", np.eye(4))])
    assert poses.states == {"cam_a": PoseState.READY, "cam_b": PoseState.READY}
    changes = poses.add_dynamic(["map"])  # above both chains' common frames: their links do not move
    assert changes == []
    changes = poses.add_dynamic(["rig"])  # also published on /tf: cam_a's chain moves
    assert [(c.frame, c.state) for c in changes] == [("cam_a", PoseState.REFUSED)]
    assert poses.pose("cam_a") is None
