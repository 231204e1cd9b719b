"""What the exported backends do after the graph, in numpy: detectron2's own arithmetic, re-written.

The ONNX graph stops at boxes, scores and heatmap logits (detectron2's keypoint decoding does not
export: ``aten::index``). Here, without torch:

* `network_input_size`: detectron2's ``ResizeShortestEdge.get_output_shape`` (the input size rule);
* `heatmaps_to_keypoints`: detectron2's ``heatmaps_to_keypoints`` (bicubic upsampling of each
  person's 56x56 logits to its box, arg-max, softmax score normalised over the 56x56 map), as
  two small matrix products per person instead of a per-pixel interpolation;
* `to_frame_pixels`: detectron2's ``detector_postprocess`` (scale from network-input to frame
  pixels, clip boxes, drop empty ones).

Arithmetic stays in float32 where detectron2's is, so the results equal it to float rounding.
"""

from __future__ import annotations

import numpy as np

#: Keys of the cubic convolution kernel of torch's bicubic interpolation (Keys' a = -0.75).
_CUBIC_A = -0.75


def network_input_size(h: int, w: int, min_size: int, max_size: int) -> tuple[int, int]:
    """(height, width) of the network input for an h x w frame: shortest edge ``min_size``, longest at
    most ``max_size``, rounded half up (detectron2's ``ResizeShortestEdge.get_output_shape``)."""
    size = min_size * 1.0
    scale = size / min(h, w)
    newh, neww = (size, scale * w) if h < w else (scale * h, size)
    if max(newh, neww) > max_size:
        scale = max_size * 1.0 / max(newh, neww)
        newh, neww = newh * scale, neww * scale
    return int(newh + 0.5), int(neww + 0.5)


def _cubic_weights(t: np.ndarray) -> np.ndarray:
    """(N,) fractional offsets in [0, 1) -> (N, 4) weights of the taps at -1, 0, +1, +2."""
    a = _CUBIC_A

    def near(x: np.ndarray) -> np.ndarray:  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x: np.ndarray) -> np.ndarray:  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return np.stack([far(t + 1), near(t), near(1 - t), far(2 - t)], axis=1)


def bicubic_matrix(in_size: int, out_size: int) -> np.ndarray:
    """(out_size, in_size) float32 matrix M with ``M @ v`` = torch's 1-D bicubic resize of ``v``
    (``F.interpolate(mode="bicubic", align_corners=False)``, taps clamped at the borders)."""
    scale = np.float32(in_size) / np.float32(out_size)
    src = (np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)
    base = np.floor(src)
    weights = _cubic_weights((src - base).astype(np.float32))
    matrix = np.zeros((out_size, in_size), np.float32)
    rows = np.arange(out_size)
    for k in range(4):
        cols = np.clip(base.astype(np.int64) - 1 + k, 0, in_size - 1)
        np.add.at(matrix, (rows, cols), weights[:, k])
    return matrix


def heatmaps_to_keypoints(maps: np.ndarray, rois: np.ndarray) -> np.ndarray:
    """detectron2's ``heatmaps_to_keypoints`` in numpy.

    Args:
        maps: (R, K, S, S) float32 heatmap logits (K = 17, S = 56).
        rois: (R, 4) float32 x1, y1, x2, y2 boxes [network-input px].

    Returns:
        (R, K, 4) float32: x, y [network-input px], the peak logit, and the peak's score (its softmax
        over the box-sized map, normalised by the sum over the S x S map).
    """
    maps = np.asarray(maps, np.float32)
    rois = np.asarray(rois, np.float32)
    num_rois, num_kpts = maps.shape[:2]
    out = np.zeros((num_rois, num_kpts, 4), np.float32)
    widths = np.maximum(rois[:, 2] - rois[:, 0], np.float32(1))
    heights = np.maximum(rois[:, 3] - rois[:, 1], np.float32(1))
    widths_ceil, heights_ceil = np.ceil(widths), np.ceil(heights)
    width_corr, height_corr = widths / widths_ceil, heights / heights_ceil
    kpt = np.arange(num_kpts)
    for i in range(num_rois):
        out_h, out_w = int(heights_ceil[i]), int(widths_ceil[i])
        along_y = bicubic_matrix(maps.shape[2], out_h)
        along_x = bicubic_matrix(maps.shape[3], out_w)
        roi_map = along_y @ (maps[i] @ along_x.T)  # (K, out_h, out_w): x first, then y, as torch
        flat = roi_map.reshape(num_kpts, -1)
        pos = flat.argmax(axis=1)
        peak = flat[kpt, pos]
        normaliser = np.exp(maps[i] - peak[:, None, None]).sum(axis=(1, 2))
        x_int, y_int = pos % out_w, pos // out_w
        out[i, :, 0] = (x_int.astype(np.float32) + np.float32(0.5)) * width_corr[i] + rois[i, 0]
        out[i, :, 1] = (y_int.astype(np.float32) + np.float32(0.5)) * height_corr[i] + rois[i, 1]
        out[i, :, 2] = peak
        out[i, :, 3] = np.float32(1.0) / normaliser  # exp(peak - peak) / sum
    return out


def decode_heatmaps(hard: np.ndarray, soft: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ORPose's decoding of its two heatmap sets (``keypoint_head.decode_heatmaps`` without torch).

    Args:
        hard, soft: (R, 17, 56, 56) heatmap logits of the hard and soft branches.
        boxes: (R, 4) boxes [network-input px].

    Returns:
        ``(averaged, hard, soft)``, each (R, 17, 3) x, y [network-input px], score; ``averaged``
        decodes ``(hard + soft) / 2`` (the published 2D keypoints), the other two feed the lifting.
    """
    columns = [0, 1, 3]
    averaged = (np.asarray(hard, np.float32) + np.asarray(soft, np.float32)) / np.float32(2.0)
    return tuple(heatmaps_to_keypoints(m, boxes)[:, :, columns] for m in (averaged, hard, soft))  # type: ignore[return-value]


def to_frame_pixels(
    boxes: np.ndarray, keypoints: np.ndarray, input_size: tuple[int, int], frame_size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """detectron2's ``detector_postprocess``: network-input pixels -> frame pixels.

    Args:
        boxes: (R, 4) float32 boxes [network-input px].
        keypoints: (R, K, 3) float32 x, y [network-input px], score.
        input_size, frame_size: (height, width) of the network input and of the frame.

    Returns:
        ``(boxes, keypoints, keep)``: scaled and clipped boxes, scaled keypoints (both still (R, ...)),
        and the (R,) mask of non-empty boxes that detectron2 keeps.
    """
    scale_x = np.float32(frame_size[1] / input_size[1])
    scale_y = np.float32(frame_size[0] / input_size[0])
    boxes = np.array(boxes, np.float32, copy=True)
    boxes[:, 0::2] *= scale_x
    boxes[:, 1::2] *= scale_y
    boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0, frame_size[1])
    boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0, frame_size[0])
    keep = (boxes[:, 2] - boxes[:, 0] > 0) & (boxes[:, 3] - boxes[:, 1] > 0)
    keypoints = np.array(keypoints, np.float32, copy=True)
    keypoints[:, :, 0] *= scale_x
    keypoints[:, :, 1] *= scale_y
    return boxes, keypoints, keep

