"""Random weights in the official layout that make the model behave like a detector (tests, demos)."""

from __future__ import annotations

from pathlib import Path

import torch

from orpose_ros.model import build_orpose_model, get_orpose_cfg
from orpose_ros.model.checkpoint import layout_of, read_layout_tsv
from orpose_ros.model.random_weights import random_state_dict


def test_random_state_dict_is_deterministic_and_seeded(layout_path: Path) -> None:
    layout = {k: v for k, v in read_layout_tsv(layout_path).items() if k.startswith("roi_heads.box_")}
    a, b, c = (random_state_dict(layout, seed) for seed in (1, 1, 2))
    assert all(torch.equal(a[k], b[k]) for k in layout)
    assert not torch.equal(a["roi_heads.box_head.fc2.weight"], c["roi_heads.box_head.fc2.weight"])
    assert layout_of(a) == layout


def test_random_state_dict_crafts_a_detector() -> None:
    model = build_orpose_model(get_orpose_cfg())
    state = random_state_dict(model, seed=0)
    assert state["roi_heads.box_predictor.cls_score.bias"].tolist() == [-1.0, 0.0]  # person, background
    assert all((v > 0).all() for k, v in state.items() if k.endswith("running_var"))
    plain = random_state_dict(model, seed=0, detecting=False)
    assert plain["roi_heads.box_predictor.cls_score.bias"].abs().max() < 0.1  # no person bias
