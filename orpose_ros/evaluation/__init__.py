"""Evaluation on the MVOR dataset (read in place, never copied: CC BY-NC-SA 4.0), used by orpose-eval-mvor
and orpose-fuse's MVOR input; no node imports it.

- `mvor`: reading the annotations (calibration, 3D ground truth, 2D boxes) and the detections.
- `mvor_evaluation`: scores (recall, joint errors, false people) of fused people against the ground truth.
- `mvor_uncertainty`: how often the stated joint uncertainty covers the real error.
"""
