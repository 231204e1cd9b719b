"""COCO -> Human3.6M mapping, lifting input, 3D un-normalisation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from orpose_ros.h36m_stats import H36MStats
from orpose_ros.model.checkpoint import read_layout_tsv
from orpose_ros.model.keypoint_head import StandardKeypoints3DHead
from orpose_ros.model.lifting import (
    LIFTING_INPUT_ROWS,
    LinearModel,
    ResidualStage,
    coco_to_h36m,
    lifting_input,
    normalize_2d,
    unnormalize_3d,
)
from orpose_ros.skeleton import COCO_KEYPOINT_NAMES, H36M_JOINT_NAMES

torch.set_num_threads(2)


def _coco_rows() -> np.ndarray:
    """COCO keypoints whose row j is (j, 100 + j, j / 100): every value says where it came from."""
    j = np.arange(17, dtype=np.float64)
    return np.stack([j, 100 + j, j / 100], axis=1)


# Row by row, worked out by hand from MODEL_SPEC.md with the rows of `_coco_rows`.
EXPECTED_H36M = np.array([
    [11.5, 111.5, 0.115],  # 0 pelvis = mean(COCO 11, 12)
    [12, 112, 0.12],  # 1 right_hip = COCO 12
    [14, 114, 0.14],  # 2 right_knee = COCO 14
    [16, 116, 0.16],  # 3 right_ankle = COCO 16
    [11, 111, 0.11],  # 4 left_hip = COCO 11
    [13, 113, 0.13],  # 5 left_knee = COCO 13
    [15, 115, 0.15],  # 6 left_ankle = COCO 15
    [8.5, 108.5, 0.085],  # 7 spine = mean(new row 0, new row 8)
    [5.5, 105.5, 0.055],  # 8 neck = mean(COCO 5, 6)
    [3.5, 103.5, 0.035],  # 9 head = mean(COCO 3, 4)
    [3.5, 103.5, 0.035],  # 10 head top = mean(COCO 3, 4)
    [5, 105, 0.05],  # 11 left_shoulder = COCO 5
    [7, 107, 0.07],  # 12 left_elbow = COCO 7
    [9, 109, 0.09],  # 13 left_wrist = COCO 9
    [6, 106, 0.06],  # 14 right_shoulder = COCO 6
    [8, 108, 0.08],  # 15 right_elbow = COCO 8
    [10, 110, 0.1],  # 16 right_wrist = COCO 10
])  # fmt: skip


def test_coco_to_h36m_numpy_matches_hand_computed_rows() -> None:
    coco = _coco_rows()
    before = coco.copy()
    np.testing.assert_allclose(coco_to_h36m(coco), EXPECTED_H36M, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(coco, before)  # the input is left alone


def test_coco_to_h36m_torch_with_batch_dimensions() -> None:
    coco = torch.from_numpy(_coco_rows()).float()
    batch = torch.stack([coco, coco * 2])  # (2, 17, 3)
    out = coco_to_h36m(batch)
    assert out.shape == (2, 17, 3)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out[0], torch.from_numpy(EXPECTED_H36M).float())
    torch.testing.assert_close(out[1], torch.from_numpy(EXPECTED_H36M * 2).float())


def test_coco_to_h36m_rejects_other_joint_counts() -> None:
    with pytest.raises(ValueError, match="17"):
        coco_to_h36m(np.zeros((16, 3)))


def test_lifting_input_drops_the_neck_and_interleaves_x_y() -> None:
    flat = lifting_input(torch.from_numpy(EXPECTED_H36M))
    assert flat.shape == (32,)
    expected = [11.5, 111.5, 12, 112, 14, 114, 16, 116, 11, 111, 13, 113, 15, 115, 8.5, 108.5,
                3.5, 103.5, 3.5, 103.5, 5, 105, 7, 107, 9, 109, 6, 106, 8, 108, 10, 110]  # fmt: skip
    np.testing.assert_allclose(flat.numpy(), expected)


def test_normalize_2d_uses_the_used_dimensions(stats_path: Path) -> None:
    stats = H36MStats.from_json(stats_path)
    mean, std = torch.tensor(stats.mean_2d_used), torch.tensor(stats.std_2d_used)
    # dim_to_use_2d[8] is 12 in the published file: data_mean_2d[12] = 532.2976..., std 101.9573...
    assert stats.dim_to_use_2d[8] == 12
    v = torch.zeros(32, dtype=torch.float64)
    v[8] = 634.2550291815
    out = normalize_2d(v, mean, std)
    assert out[8].item() == pytest.approx((634.2550291815 - 532.2976764528629) / 101.95735272862535)
    assert out[8].item() == pytest.approx(1.0, abs=1e-9)


def test_unnormalize_3d_hand_computed_with_synthetic_stats() -> None:
    mean = torch.zeros(96, dtype=torch.float64)
    std = torch.full((96,), 2.0, dtype=torch.float64)
    mean[3], mean[50] = 10.0, -4.0
    out = torch.zeros(48, dtype=torch.float64)
    out[0], out[47] = 1.5, 0.25
    joints = unnormalize_3d(out, mean, std, torch.arange(3, 51))
    assert joints.shape == (17, 3)
    assert joints[0].tolist() == [0.0, 0.0, 0.0]  # root: zeros * std + mean[0:3]
    assert joints[1, 0].item() == 1.5 * 2.0 + 10.0
    assert joints[16, 2].item() == 0.25 * 2.0 - 4.0
    assert joints[5].tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("index_dtype", [torch.int16, torch.uint8, torch.int32])
def test_unnormalize_3d_reads_indices_of_any_integer_dtype(index_dtype: torch.dtype) -> None:
    # dim_to_use_3d is "(48,) integer indices": a narrow integer type must index like int64 (uint8 is no mask)
    mean = torch.zeros(96, dtype=torch.float64)
    std = torch.full((96,), 2.0, dtype=torch.float64)
    mean[4] = 1.0
    out = torch.zeros(48, dtype=torch.float64)
    out[1], out[46] = 3.0, -1.0  # 96-vector indices 4 (joint 1, y) and 49 (joint 16, y)
    joints = unnormalize_3d(out, mean, std, torch.arange(3, 51, dtype=index_dtype))
    assert joints[1].tolist() == [0.0, 3.0 * 2.0 + 1.0, 0.0]
    assert joints[16].tolist() == [0.0, -1.0 * 2.0, 0.0]
    assert joints[0].tolist() == [0.0, 0.0, 0.0]


def test_unnormalize_3d_stays_on_the_device_of_the_network_output() -> None:
    # the meta device (shapes, no data) stands in for a GPU: statistics and output there, indices on the CPU
    meta = torch.device("meta")
    out = torch.zeros(2, 48, dtype=torch.float64, device=meta)
    mean = torch.zeros(96, dtype=torch.float64, device=meta)
    std = torch.ones(96, dtype=torch.float64, device=meta)
    joints = unnormalize_3d(out, mean, std, torch.arange(3, 51))
    assert joints.device == meta
    assert joints.shape == (2, 17, 3)


def test_unnormalize_3d_hand_computed_with_published_stats(stats_path: Path) -> None:
    stats = H36MStats.from_json(stats_path)
    out = torch.zeros(48, dtype=torch.float64)
    out[0:3] = torch.tensor([1.0, -2.0, 0.5])  # joint 1 (right hip): 96-vector indices 3, 4, 5
    out[9:12] = torch.tensor([1.0, 1.0, 1.0])  # joint 4 (left hip): indices 18, 19, 20 (12..17 unused)
    mean, std, dims = (torch.tensor(a) for a in (stats.data_mean_3d, stats.data_std_3d, stats.dim_to_use_3d))
    joints = unnormalize_3d(out, mean, std, dims)
    np.testing.assert_allclose(joints[0].numpy(), [0.0, 0.0, 0.0])
    right_hip = [
        1.0 * 110.7224395224947 - 0.2556525886947801,
        -2.0 * 22.38817617425435 - 7.119605727416116,
        0.5 * 72.46294421720373 - 0.9814330584948388,
    ]
    np.testing.assert_allclose(joints[1].numpy(), right_hip, rtol=1e-12)
    left_hip = [
        110.72180724487372 + 0.25565131489817966,
        22.388054332865146 + 7.119546036952688,
        72.46252568188349 + 0.9814238602344455,
    ]
    np.testing.assert_allclose(joints[4].numpy(), left_hip, rtol=1e-12)


def test_head_lift_averages_both_networks_and_converts_to_metres(stats_path: Path) -> None:
    stats = H36MStats.from_json(stats_path)
    head = StandardKeypoints3DHead(
        input_shape=_shape(), num_keypoints=17, conv_dims=[8], stats=stats
    ).eval()  # small convs: only the lifting matters here
    with torch.no_grad():
        for net, value in ((head.nw2Dto3D_hard, 1.0), (head.nw2Dto3D_soft, 3.0)):
            net.w2.weight.zero_()
            net.w2.bias.fill_(value)  # the network's output is `value` whatever its input
        kpts = torch.rand(2, 17, 3) * 500
        joints = head.lift(kpts, kpts)
    assert joints.shape == (2, 17, 3)
    # averaged output 2.0 -> right hip x = (2.0 * std[3] + mean[3]) mm -> m
    right_hip_x_mm = 2.0 * 110.7224395224947 - 0.2556525886947801
    assert joints[0, 1, 0].item() == pytest.approx(right_hip_x_mm / 1000, rel=1e-6)
    assert joints[1, 0].tolist() == [0.0, 0.0, 0.0]


def _shape():
    # detectron2 is imported only after orpose_ros.model (its compat shims must come first).
    from detectron2.layers import ShapeSpec

    return ShapeSpec(channels=256, height=14, width=14)


def test_linear_model_names_match_the_checkpoint(layout_path: Path) -> None:
    prefix = "roi_heads.keypoint_head.nw2Dto3D_hard."
    expected = {k[len(prefix):]: v for k, v in read_layout_tsv(layout_path).items() if k.startswith(prefix)}
    model = LinearModel().eval()
    assert {k: (tuple(v.shape), v.dtype) for k, v in model.state_dict().items()} == expected
    assert model(torch.rand(5, 32)).shape == (5, 48)


@pytest.mark.parametrize(
    ("h36m_joint", "coco_joint"),
    [("left_knee", "left_knee"), ("right_knee", "right_knee"), ("left_wrist", "left_wrist"),
     ("right_wrist", "right_wrist"), ("left_hip", "left_hip"), ("right_ankle", "right_ankle")],
)  # fmt: skip
def test_the_head_lifts_coco_keypoints_in_human36m_order(stats_path: Path, h36m_joint: str, coco_joint: str) -> None:
    # what each lifting network sees: x, y of the H36M rows but the neck, normalised by the 2D statistics;
    # an asymmetric joint's slot must hold the same-named COCO keypoint (left stays left)
    stats = H36MStats.from_json(stats_path)
    head = StandardKeypoints3DHead(input_shape=_shape(), num_keypoints=17, conv_dims=[8], stats=stats).eval()
    seen: dict[str, torch.Tensor] = {}
    for name in ("nw2Dto3D_hard", "nw2Dto3D_soft"):
        getattr(head, name).register_forward_pre_hook(lambda _m, args, name=name: seen.__setitem__(name, args[0]))
    hard = torch.rand(2, 17, 3, generator=torch.Generator().manual_seed(0)) * 500
    soft = hard.flip(0) + 7.0
    with torch.no_grad():
        head.lift(hard, soft)
    slot = 2 * LIFTING_INPUT_ROWS.index(H36M_JOINT_NAMES.index(h36m_joint))
    k = COCO_KEYPOINT_NAMES.index(coco_joint)
    mean, std = stats.mean_2d_used, stats.std_2d_used
    for name, kpts in (("nw2Dto3D_hard", hard), ("nw2Dto3D_soft", soft)):
        for axis in (0, 1):  # x, y
            expected = (kpts[:, k, axis].double().numpy() - mean[slot + axis]) / std[slot + axis]
            np.testing.assert_allclose(seen[name][:, slot + axis].double().numpy(), expected, rtol=1e-5)


def test_a_residual_stage_adds_its_block_to_its_input() -> None:
    # x + ReLU(BN2(W2 ReLU(BN1(W1 x)))) in eval mode, by hand: W1 = W2 = identity, zero biases, and batch norms
    # with their initial running statistics (mean 0, variance 1, weight 1, bias 0), so BN(v) = v / sqrt(1 + eps)
    stage = ResidualStage(size=2).double().eval()
    with torch.no_grad():
        for linear in (stage.w1, stage.w2):
            linear.weight.copy_(torch.eye(2, dtype=torch.float64))
            linear.bias.zero_()
    eps = 1e-5  # torch's BatchNorm1d default
    out = stage(torch.tensor([[3.0, -2.0]], dtype=torch.float64))
    # a positive value passes both ReLUs: 3 + 3 / (1 + eps); a negative one is cut by the first: -2 + 0
    assert out[0, 0].item() == pytest.approx(3.0 + 3.0 / (1.0 + eps), rel=1e-12)
    assert out[0, 1].item() == -2.0


def test_a_residual_stage_defaults_to_the_published_stage(layout_path: Path) -> None:
    prefix = "roi_heads.keypoint_head.nw2Dto3D_hard.linear_stages.0."
    expected = {k[len(prefix):]: v for k, v in read_layout_tsv(layout_path).items() if k.startswith(prefix)}
    stage = ResidualStage()
    assert {k: (tuple(v.shape), v.dtype) for k, v in stage.state_dict().items()} == expected
    assert stage.dropout.p == 0.5  # Martinez et al.'s dropout (the published model runs with it off, in eval)


def test_the_linear_model_gives_its_dropout_to_every_stage() -> None:
    model = LinearModel(linear_size=8, num_stages=3, p_dropout=0.25)
    assert [stage.dropout.p for stage in model.linear_stages] == [0.25, 0.25, 0.25]
    assert model.dropout.p == 0.25
