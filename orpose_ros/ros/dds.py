"""The shipped Fast DDS profile (config/fastdds_shm.xml): a 32 MiB shared-memory segment for images.

The segment belongs to the sender, so every process that publishes or relays camera images should
use it; these helpers keep a profile the user already chose.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from pathlib import Path

PROFILE_VARIABLE = "FASTDDS_DEFAULT_PROFILES_FILE"
_SOURCE_TREE_PROFILE = Path(__file__).resolve().parents[2] / "config" / "fastdds_shm.xml"


def shipped_profile() -> Path:
    """config/fastdds_shm.xml of the source tree, else of the installed package share."""
    if _SOURCE_TREE_PROFILE.is_file():
        return _SOURCE_TREE_PROFILE
    from ament_index_python.packages import get_package_share_directory

    return Path(get_package_share_directory("orpose_ros")) / "config" / "fastdds_shm.xml"


def use_shipped_profile(env: MutableMapping[str, str]) -> None:
    """Point ``env`` (os.environ or a child's environment) at the shipped profile unless it names one."""
    env.setdefault(PROFILE_VARIABLE, str(shipped_profile()))
