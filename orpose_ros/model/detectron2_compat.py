"""Make detectron2 0.6 importable in this environment; import this module before any detectron2 import.

Why it exists:

* detectron2 is installed from FAIR's v0.6 Python sources WITHOUT its C++ extension
  (``detectron2._C``): the PyPI source dist lacks ``layers/csrc``. ``detectron2.layers`` imports
  ``_C`` at import time for deformable convolutions, rotated boxes and the fast COCO evaluator.
  ORPose uses none of those ops (its ROI pooling is ``ROIAlignV2``, served by torchvision), so a
  placeholder module is enough; calling any of its ops raises a clear error instead.
* Pillow >= 10 removed ``Image.LINEAR``, which detectron2 0.6 uses as a default argument in
  ``data/transforms/transform.py`` (evaluated at import time). ``LINEAR`` was always an alias of
  ``BILINEAR``, so the alias is restored.
* detectron2's anchor generator calls ``torch.meshgrid`` without ``indexing=``; torch warns that
  the default ("ij", the one detectron2 relies on) will have to be explicit one day. That warning
  alone is silenced: it says nothing to a user of the node.

Both patches apply only when the real thing is missing, and importing this module twice is a no-op.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import logging
import sys
import types
import warnings

import PIL.Image

logger = logging.getLogger(__name__)

_PLACEHOLDER_NAME = "detectron2._C"


class _MissingCExtension(types.ModuleType):
    """Stands in for ``detectron2._C``: importable, but every op raises a clear error."""

    def __getattr__(self, name: str):  # only called for attributes that do not exist
        if name.startswith("__"):
            raise AttributeError(name)
        raise RuntimeError(
            f"detectron2._C.{name} was called, but detectron2 is installed without its C++ extension "
            "(orpose_ros/model/detectron2_compat.py put a placeholder there). ORPose needs none of these "
            "ops; a model that does needs a full detectron2 build."
        )


def _install_c_placeholder() -> None:
    """Register the placeholder ``detectron2._C`` when the compiled extension is absent."""
    if _PLACEHOLDER_NAME in sys.modules:
        return
    # find_spec imports the top-level detectron2 package, which itself does not need _C.
    if importlib.util.find_spec(_PLACEHOLDER_NAME) is not None:
        return
    placeholder = _MissingCExtension(_PLACEHOLDER_NAME, "Placeholder for detectron2's missing C++ extension.")
    placeholder.__spec__ = importlib.machinery.ModuleSpec(_PLACEHOLDER_NAME, loader=None)
    sys.modules[_PLACEHOLDER_NAME] = placeholder
    sys.modules["detectron2"]._C = placeholder  # `from detectron2 import _C` reads the attribute
    logger.debug("detectron2._C is missing: installed a placeholder (ORPose uses none of its ops)")


def _restore_pil_linear() -> None:
    """Give Pillow >= 10 back the ``Image.LINEAR`` alias that detectron2 0.6 reads at import time."""
    if not hasattr(PIL.Image, "LINEAR"):
        PIL.Image.LINEAR = PIL.Image.BILINEAR


_restore_pil_linear()
_install_c_placeholder()
warnings.filterwarnings("ignore", message=r"torch\.meshgrid: in an upcoming release", category=UserWarning)
