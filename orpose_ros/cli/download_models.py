"""``orpose-download-models``: fetch the published ORPose checkpoints and ``h36stats.json``.

The three fixed-scale checkpoints come in the authors' ``models.zip``; the lifting statistics
``h36stats.json`` come from the ORPose-Color repository. Both are checked before anything is
written into the destination folder: the archive must be a zip holding the three ``.pth`` files
(at any folder depth), the statistics must have the six arrays of the published lengths. Only
the four files land in the destination, flat. Sources may be http(s) or file:// URLs, or plain
local paths (for a copy fetched on another machine).
"""

from __future__ import annotations

import argparse
import http.client
import logging
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from orpose_ros.h36m_stats import H36MStats, StatsError
from orpose_ros.model_files import CHECKPOINT_NAMES, STATS_FILE_NAME, default_models_dir

PROG = "orpose-download-models"
MODELS_URL = "https://s3.unistra.fr/camma_public/github/ORPose/models.zip"
STATS_URL = "https://raw.githubusercontent.com/CAMMA-public/ORPose-Color/master/data/h36stats.json"
TIMEOUT_S = 30.0
LICENCE_NOTE = (
    "Licence reminder: the ORPose models (CAMMA, University of Strasbourg) are distributed under\n"
    "CC BY-NC-SA 4.0: non-commercial use only, with attribution, derivatives under the same licence."
)

log = logging.getLogger(PROG)


class DownloadError(Exception):
    """A download or a check failed; the message says what and where."""


class OfflineError(DownloadError):
    """The network (or the server) cannot be reached."""

    def __init__(self, url: str, reason: object) -> None:
        super().__init__(f"cannot reach {url} ({reason}): this machine seems to be offline")
        self.url = url


def to_url(source: str) -> str:
    """A URL for ``source``: URLs are kept, plain paths become absolute file:// URLs."""
    if urllib.parse.urlsplit(source).scheme.lower() in {"http", "https", "ftp", "file"}:
        return source
    path = Path(source).expanduser()
    if not path.is_file():
        raise DownloadError(f"no such file: {path}")
    return path.resolve().as_uri()


def fetch(source: str, target: Path, timeout: float = TIMEOUT_S) -> None:
    """Copy the bytes at ``source`` (URL or local path) into ``target``.

    Raises:
        OfflineError: the host cannot be reached or stops answering.
        DownloadError: the server or the file system refused (HTTP error, missing local file).
    """
    url = to_url(source)
    log.info("downloading %s", url)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, target.open("wb") as out:
            shutil.copyfileobj(response, out, length=1 << 20)
    except urllib.error.HTTPError as err:
        raise DownloadError(f"{url}: the server answered HTTP {err.code} {err.reason}") from err
    except urllib.error.URLError as err:
        if urllib.parse.urlsplit(url).scheme == "file":
            raise DownloadError(f"cannot read {url}: {err.reason}") from err
        raise OfflineError(url, err.reason) from err
    except (TimeoutError, ConnectionError) as err:
        raise OfflineError(url, err) from err
    except http.client.HTTPException as err:
        raise DownloadError(f"{url}: the download was interrupted ({err!r})") from err


def find_checkpoints(archive: Path, source: str) -> dict[str, zipfile.ZipInfo]:
    """The archive member holding each checkpoint, whatever its folder inside the zip.

    Raises:
        DownloadError: not a zip, or one of the three checkpoints is missing.
    """
    if not zipfile.is_zipfile(archive):
        raise DownloadError(f"{source} is not a valid zip archive")
    with zipfile.ZipFile(archive) as zf:
        members: dict[str, zipfile.ZipInfo] = {}
        for info in zf.infolist():
            name = PurePosixPath(info.filename).name
            if not info.is_dir() and name in CHECKPOINT_NAMES and name not in members:
                members[name] = info
    missing = [n for n in CHECKPOINT_NAMES if n not in members]
    if missing:
        raise DownloadError(f"{source} does not contain {', '.join(missing)}")
    return members


def extract_checkpoints(archive: Path, members: dict[str, zipfile.ZipInfo], dest: Path) -> None:
    """Write the given members flat into ``dest``, each through a temporary file (atomic rename)."""
    with zipfile.ZipFile(archive) as zf:
        for name, info in members.items():
            partial = dest / f".{name}.part"
            try:
                with zf.open(info) as src, partial.open("wb") as out:
                    shutil.copyfileobj(src, out, length=1 << 20)
            except (zipfile.BadZipFile, OSError) as err:
                partial.unlink(missing_ok=True)
                raise DownloadError(f"cannot extract {info.filename}: {err}") from err
            os.replace(partial, dest / name)
            log.info("extracted %s", dest / name)


def check_stats(path: Path, source: str) -> None:
    """Check that a downloaded ``h36stats.json`` is what the lifting needs (`H36MStats.from_json`).

    Raises:
        DownloadError: naming ``source`` and the first problem.
    """
    try:
        H36MStats.from_json(path)
    except StatsError as err:
        raise DownloadError(f"{source}: {err}") from err


def get_checkpoints(url: str, dest: Path, work: Path, force: bool) -> list[str]:
    """Download and unpack the checkpoints that are missing (all with ``force``); the names written."""
    wanted = [n for n in CHECKPOINT_NAMES if force or not (dest / n).exists()]
    for name in CHECKPOINT_NAMES:
        if name not in wanted:
            log.info("%s already present, skipped (--force replaces it)", dest / name)
    if not wanted:
        return []
    archive = work / "models.zip"
    fetch(url, archive)
    members = find_checkpoints(archive, url)
    extract_checkpoints(archive, {n: members[n] for n in wanted}, dest)
    return wanted


def get_stats(url: str, dest: Path, work: Path, force: bool) -> list[str]:
    """Download and check ``h36stats.json`` unless present (or with ``force``); the names written."""
    target = dest / STATS_FILE_NAME
    if target.exists() and not force:
        log.info("%s already present, skipped (--force replaces it)", target)
        return []
    downloaded = work / STATS_FILE_NAME
    fetch(url, downloaded)
    check_stats(downloaded, url)
    os.replace(downloaded, target)
    log.info("wrote %s", target)
    return [STATS_FILE_NAME]


def manual_hint(dest: Path) -> str:
    """How to put the files in place without this tool."""
    return (
        f"To install the models by hand, on a machine with internet access download\n"
        f"  {MODELS_URL}\n  {STATS_URL}\n"
        f"then copy {', '.join(CHECKPOINT_NAMES)} (from inside the zip) and {STATS_FILE_NAME} into\n"
        f"  {dest.resolve()}\n"
        f"or run this command again with --url/--stats-url pointing at the copied files."
    )


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Download the published ORPose checkpoints (8x, 10x, 12x) and h36stats.json "
        "into a models folder, checking them first. " + LICENCE_NOTE.replace("\n", " "),
    )
    parser.add_argument(
        "--dest", type=Path, default=None,
        help="destination folder (default: $ORPOSE_MODELS_DIR, else ~/.local/share/orpose_ros/models)",
    )  # fmt: skip
    parser.add_argument("--url", default=MODELS_URL, help="models.zip: URL (http, https, file) or local path")
    parser.add_argument("--stats-url", default=STATS_URL, help="h36stats.json: URL or local path")
    parser.add_argument("--force", action="store_true", help="replace files that are already present")
    return parser


def run(url: str, stats_url: str, dest: Path, force: bool) -> list[str]:
    """Fetch, check and install everything missing into ``dest``; the names written."""
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".download-", dir=dest) as work:
        written = get_checkpoints(url, dest, Path(work), force)
        written += get_stats(stats_url, dest, Path(work), force)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point; returns the exit status (0 done, 2 failed)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=f"{PROG}: %(message)s")
    dest = args.dest if args.dest is not None else default_models_dir()
    try:
        written = run(args.url, args.stats_url, dest, args.force)
    except OfflineError as err:
        print(f"{PROG}: error: {err}\n{manual_hint(dest)}", file=sys.stderr)
        return 2
    except DownloadError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"{PROG}: error: cannot write into {dest}: {err}", file=sys.stderr)
        return 2
    present = "nothing new" if not written else ", ".join(written)
    print(f"{PROG}: {present} written to {dest.resolve()}; all model files present.")
    print(LICENCE_NOTE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
