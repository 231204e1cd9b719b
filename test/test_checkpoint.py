"""Strict loading of official-layout checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from orpose_ros.model import CheckpointError, build_orpose_model, get_orpose_cfg, load_weights
from orpose_ros.model.checkpoint import layout_of, load_state_dict_strict, read_layout_tsv
from orpose_ros.model.random_weights import random_state_dict

torch.set_num_threads(2)

CLS_WEIGHT = "roi_heads.box_predictor.cls_score.weight"
RENAMED_FROM = "roi_heads.keypoint_head.conv_fcn8.weight"
RENAMED_TO = "roi_heads.keypoint_head.conv_fcn9.weight"


@pytest.fixture(scope="module")
def model():
    return build_orpose_model(get_orpose_cfg())


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
    assert "missing" not in message
    assert "unexpected" not in message


def test_many_offenders_are_listed_first_few(model, layout_state) -> None:
    state = {k: v for k, v in layout_state.items() if not k.startswith("backbone.bottom_up")}
    with pytest.raises(CheckpointError, match=r"missing key\(s\): backbone\.bottom_up\..*more\)"):
        load_state_dict_strict(model, state, source="mem.pth")


def test_missing_file_says_where_and_how_to_get_it(model, tmp_path: Path) -> None:
    path = tmp_path / "orpose_fixed_8x_model_final.pth"
    with pytest.raises(CheckpointError) as err:
        load_weights(model, path)
    message = str(err.value)
    assert str(path) in message
    assert "orpose-download-models" in message
    assert "models/README.md" in message


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


def test_detectron2_compat_shims() -> None:
    import sys

    import PIL.Image

    assert PIL.Image.LINEAR == PIL.Image.BILINEAR
    c_ext = sys.modules["detectron2._C"]
    if type(c_ext).__name__ == "_MissingCExtension":  # placeholder installed: its ops fail clearly
        with pytest.raises(RuntimeError, match=r"without its C\+\+ extension"):
            c_ext.deform_conv_forward()
