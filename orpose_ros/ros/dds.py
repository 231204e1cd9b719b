"""The shipped Fast DDS profile (config/fastdds_shm.xml): a 32 MiB shared-memory segment for images.

The segment belongs to the sender, so every process that publishes or relays camera images should
use it; these helpers keep a profile the user already chose. The file is found through the
package's share directory (ament index), so an installed package works wherever it lives.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from pathlib import Path

from ament_index_python.packages import get_package_share_directory

PROFILE_VARIABLE = "FASTDDS_DEFAULT_PROFILES_FILE"


def share_directory() -> Path:
    """``share/orpose_ros`` of the installed package (launch, config, ...)."""
    return Path(get_package_share_directory("orpose_ros"))


def shipped_profile() -> Path:
    """config/fastdds_shm.xml of the installed package."""
    return share_directory() / "config" / "fastdds_shm.xml"


def use_shipped_profile(env: MutableMapping[str, str]) -> None:
    """Point ``env`` (os.environ or a child's environment) at the shipped profile unless it names one."""
    env.setdefault(PROFILE_VARIABLE, str(shipped_profile()))
