"""Strict loading of official-layout checkpoints, and finding the files that go with them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from orpose_ros.model import (
    CheckpointError,
    StatsError,
    build_orpose_model,
    downsample_factor_from_name,
    load_weights,
    random_state_dict,
    resolve_stats_path,
)
from orpose_ros.model import checkpoint as checkpoint_module
from orpose_ros.model.checkpoint import layout_of, read_layout_tsv

torch.set_num_threads(2)

CLS_WEIGHT = "roi_heads.box_predictor.cls_score.weight"
RENAMED_FROM = "roi_heads.keypoint_head.conv_fcn8.weight"
RENAMED_TO = "roi_heads.keypoint_head.conv_fcn9.weight"


@pytest.fixture(scope="module")
def model():
    return build_orpose_model()


@pytest.fixture(scope="module")
def layout_state(layout_path: Path) -> dict[str, torch.Tensor]:
    """Random values in the layout of checkpoint_layout.tsv, built from the table alone."""
    return random_state_dict(layout_path, seed=7, detecting=False)


@pytest.fixture(scope="module")
def ckpt_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("checkpoints")


def test_layout_table_has_389_entries(layout_path: Path) -> None:
    layout = read_layout_tsv(layout_path)
    assert len(layout) == 389
    assert layout[CLS_WEIGHT] == ((2, 1024), torch.float32)
    counter = "roi_heads.keypoint_head.nw2Dto3D_soft.batch_norm1.num_batches_tracked"
    assert layout[counter] == ((), torch.int64)


def test_built_model_has_exactly_the_official_layout(model, layout_path: Path) -> None:
    ours = layout_of(model.state_dict())
    official = read_layout_tsv(layout_path)
    assert list(ours) == list(official)  # same keys, same order
    assert ours == official  # same shapes and dtypes


def test_official_layout_checkpoint_loads_strictly(model, layout_state, ckpt_dir: Path) -> None:
    path = ckpt_dir / "orpose_fixed_12x_model_final.pth"
    torch.save({"model": layout_state, "iteration": 89999}, path)
    load_weights(model, path)
    loaded = model.state_dict()
    for key in (CLS_WEIGHT, "backbone.bottom_up.stem.conv1.weight", "roi_heads.keypoint_head.conv_fcn1.bias"):
        assert torch.equal(loaded[key], layout_state[key])


def test_bare_state_dict_is_accepted(model, ckpt_dir: Path) -> None:
    state = random_state_dict(model, seed=3, detecting=False)
    path = ckpt_dir / "bare.pth"
    torch.save(state, path)
    load_weights(model, path)
    assert torch.equal(model.state_dict()[RENAMED_FROM], state[RENAMED_FROM])


def test_renamed_key_fails_naming_keys_and_file(model, layout_state, ckpt_dir: Path) -> None:
    state = dict(layout_state)
    state[RENAMED_TO] = state.pop(RENAMED_FROM)
    path = ckpt_dir / "renamed.pth"
    torch.save({"model": state}, path)
    with pytest.raises(CheckpointError) as err:
        load_weights(model, path)
    message = str(err.value)
    assert str(path) in message
    assert f"1 missing key(s): {RENAMED_FROM}" in message
    assert f"1 unexpected key(s): {RENAMED_TO}" in message


def test_wrong_shape_fails_naming_key_shapes_and_file(model, layout_state, ckpt_dir: Path) -> None:
    state = dict(layout_state)
    state[CLS_WEIGHT] = torch.zeros(81, 1024)  # a COCO 80-class head
    path = ckpt_dir / "wrong_shape.pth"
    torch.save({"model": state}, path)
    with pytest.raises(CheckpointError) as err:
        load_weights(model, path)
    message = str(err.value)
    assert str(path) in message
    assert f"{CLS_WEIGHT}: (81, 1024) in the file, (2, 1024) expected" in message
    assert "missing" not in message and "unexpected" not in message


def test_many_offenders_are_listed_first_few(model, layout_state) -> None:
    state = {k: v for k, v in layout_state.items() if not k.startswith("backbone.bottom_up")}
    with pytest.raises(CheckpointError, match=r"missing key\(s\): backbone\.bottom_up\..*more\)"):
        checkpoint_module.load_state_dict_strict(model, state, source="mem.pth")


def test_missing_file_says_where_and_how_to_get_it(model, tmp_path: Path) -> None:
    path = tmp_path / "orpose_fixed_8x_model_final.pth"
    with pytest.raises(CheckpointError) as err:
        load_weights(model, path)
    message = str(err.value)
    assert str(path) in message and "orpose-download-models" in message and "models/README.md" in message


def test_garbage_file_is_a_checkpoint_error(model, tmp_path: Path) -> None:
    path = tmp_path / "garbage.pth"
    path.write_bytes(b"this is not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_weights(model, path)


def test_pickled_objects_are_refused_by_default(model, tmp_path: Path) -> None:
    path = tmp_path / "pickled.pth"
    torch.save({"model": {"x": torch.zeros(1)}, "extra": Path("/x")}, path)  # not a weights-only type
    with pytest.raises(CheckpointError, match="allow_pickle"):
        load_weights(model, path)


@pytest.mark.parametrize(
    ("name", "factor"),
    [
        ("orpose_fixed_12x_model_final.pth", 12),
        ("models/orpose_fixed_8x_model_final.pth", 8),
        ("/a/b/orpose_fixed_10x_model_final.pth", 10),
        ("model_final.pth", None),
        ("orpose_fixed_0x_model_final.pth", None),
        ("orpose_12x.pth", None),
    ],
)
def test_downsample_factor_from_name(name: str, factor: int | None) -> None:
    assert downsample_factor_from_name(name) == factor


def test_resolve_stats_path_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    weights_dir, models_dir = tmp_path / "weights", tmp_path / "models"
    weights_dir.mkdir()
    models_dir.mkdir()
    monkeypatch.setattr(checkpoint_module, "DEFAULT_MODELS_DIR", models_dir)
    weights = weights_dir / "orpose_fixed_12x_model_final.pth"
    explicit = tmp_path / "mine.json"
    explicit.write_text("{}")
    assert resolve_stats_path(weights, explicit) == explicit
    (models_dir / "h36stats.json").write_text("{}")
    assert resolve_stats_path(weights, None) == models_dir / "h36stats.json"
    (weights_dir / "h36stats.json").write_text("{}")
    assert resolve_stats_path(weights, None) == weights_dir / "h36stats.json"


def test_resolve_stats_path_lists_the_places_tried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checkpoint_module, "DEFAULT_MODELS_DIR", tmp_path / "models")
    weights = tmp_path / "w" / "orpose_fixed_12x_model_final.pth"
    with pytest.raises(StatsError) as err:
        resolve_stats_path(weights, None)
    message = str(err.value)
    assert str(tmp_path / "w" / "h36stats.json") in message
    assert str(tmp_path / "models" / "h36stats.json") in message
    assert "orpose-download-models" in message
    with pytest.raises(StatsError, match=r"explicit\.json"):
        resolve_stats_path(weights, tmp_path / "explicit.json")


def test_random_state_dict_is_deterministic_and_seeded(layout_path: Path) -> None:
    layout = {k: v for k, v in read_layout_tsv(layout_path).items() if k.startswith("roi_heads.box_")}
    a, b, c = (random_state_dict(layout, seed) for seed in (1, 1, 2))
    assert all(torch.equal(a[k], b[k]) for k in layout)
    assert not torch.equal(a["roi_heads.box_head.fc2.weight"], c["roi_heads.box_head.fc2.weight"])
    assert layout_of(a) == layout


def test_random_state_dict_crafts_a_detector(model) -> None:
    state = random_state_dict(model, seed=0)
    assert state["roi_heads.box_predictor.cls_score.bias"].tolist() == [-1.0, 0.0]  # person, background
    assert all((v > 0).all() for k, v in state.items() if k.endswith("running_var"))
    plain = random_state_dict(model, seed=0, detecting=False)
    assert plain["roi_heads.box_predictor.cls_score.bias"].abs().max() < 0.1  # no person bias


def test_published_config_values() -> None:
    from orpose_ros.model import get_orpose_cfg

    cfg = get_orpose_cfg()
    assert cfg.is_frozen() and cfg.MODEL.WEIGHTS == ""
    m = cfg.MODEL
    assert (m.META_ARCHITECTURE, m.BACKBONE.NAME, m.RESNETS.DEPTH) == (
        "GeneralizedRCNN", "build_resnet_fpn_backbone", 50,
    )  # fmt: skip
    assert m.ANCHOR_GENERATOR.SIZES == [[32], [64], [128], [256], [512]]
    assert m.RPN.IN_FEATURES == ["p2", "p3", "p4", "p5", "p6"]
    assert (m.RPN.PRE_NMS_TOPK_TEST, m.RPN.POST_NMS_TOPK_TEST) == (1000, 1000)
    assert (m.ROI_HEADS.NAME, m.ROI_HEADS.NUM_CLASSES) == ("Keypoints3DROIHeads", 1)
    assert (m.ROI_HEADS.SCORE_THRESH_TEST, m.ROI_HEADS.NMS_THRESH_TEST) == (0.05, 0.5)
    assert (m.ROI_BOX_HEAD.NAME, m.ROI_BOX_HEAD.NUM_FC, m.ROI_BOX_HEAD.POOLER_RESOLUTION) == (
        "FastRCNNConvFCHead", 2, 7,
    )  # fmt: skip
    head = m.ROI_KEYPOINTS3D_HEAD
    assert (head.POOLER_TYPE, head.POOLER_RESOLUTION, head.POOLER_SAMPLING_RATIO) == ("ROIAlignV2", 14, 0)
    assert not m.MASK_ON and not m.KEYPOINT_ON and m.KEYPOINT3D_ON
    assert (cfg.INPUT.MIN_SIZE_TEST, cfg.INPUT.MAX_SIZE_TEST, cfg.INPUT.FORMAT) == (800, 1333, "BGR")
    assert (m.PIXEL_MEAN, m.PIXEL_STD) == ([103.53, 116.28, 123.675], [1.0, 1.0, 1.0])
    assert cfg.TEST.DETECTIONS_PER_IMAGE == 100


def test_detectron2_compat_shims() -> None:
    import sys

    import PIL.Image

    assert PIL.Image.LINEAR == PIL.Image.BILINEAR
    c_ext = sys.modules["detectron2._C"]
    if type(c_ext).__name__ == "_MissingCExtension":  # placeholder installed: its ops fail clearly
        with pytest.raises(RuntimeError, match=r"without its C\+\+ extension"):
            c_ext.deform_conv_forward()
