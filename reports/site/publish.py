"""Publish a built site atomically: build into a staged sibling folder
(``stage_site``), swap it in with two renames (``swap_site``), or drop it
(``discard_staged_site``). The Dagster job stages in the ``site`` asset and
swaps after the warehouse commit (docs/site.md, docs/operations.md)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable, Optional

import duckdb

from reports.site.builder import SiteResult, build_site


def remove_tree(path: Path, background: bool = True) -> None:
    """Delete a folder that is no longer published. Deleting a 50,000-employer
    site (150,000 entries) can take minutes on a busy disk, so by default it
    happens in a detached ``rm -rf`` that outlives this process; the next
    publish removes whatever is left."""
    path = Path(path)
    if not path.exists():
        return
    rm = shutil.which("rm")
    if background and rm:
        import subprocess

        subprocess.Popen([rm, "-rf", "--", str(path)], start_new_session=True, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        shutil.rmtree(path, ignore_errors=True)


def _siblings(site_dir: Path, kind: str) -> list[Path]:
    return sorted(site_dir.parent.glob(f".{site_dir.name}.{kind}-*"))


def staged_path(site_dir: Path, run_id: str) -> Path:
    """The folder a run builds its site in before it is swapped in."""
    site_dir = Path(site_dir)
    return site_dir.with_name(f".{site_dir.name}.new-{run_id}")


def stage_site(con: duckdb.DuckDBPyConnection, site_dir: Path, *, run_id: str, background_cleanup: bool = True,
               build: Optional[Callable[..., SiteResult]] = None, **kw) -> SiteResult:
    """Build the site of run ``run_id`` into ``.<site>.new-<run_id>`` beside
    ``site_dir``; the published site is not touched (``swap_site`` publishes
    it, ``discard_staged_site`` drops it).

    The replaced site of the last publish is reused as the build folder: its
    files are overwritten in place (no 150,000 files deleted and created per
    run at city scale, which slowed file creation on the disk for minutes —
    docs/performance.md). A failure while building deletes the folder and
    leaves the published site as it was. Leftovers of a killed run are removed
    first (all but the newest replaced site). ``build(con, folder, run_id=…,
    **kw)`` writes the site (default ``build_site``; the orchestration tests
    pass a small one and keep this staging and swap). Call it while holding
    the site lock (``assets.publish``)."""
    site_dir = Path(site_dir)
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    if not site_dir.exists():
        olds = [p for p in _siblings(site_dir, "old") if (p / "index.html").exists()]
        if olds:  # killed between the two renames: the old site is the last good one
            os.replace(max(olds, key=lambda p: p.stat().st_mtime), site_dir)
    olds = sorted(_siblings(site_dir, "old"), key=lambda p: p.stat().st_mtime)
    reuse = olds[-1] if olds else None
    tmp = staged_path(site_dir, run_id)
    for stale in _siblings(site_dir, "new") + olds[:-1]:
        if stale != tmp:
            remove_tree(stale, background_cleanup)
    if tmp.exists():
        shutil.rmtree(tmp)
    if reuse is not None:
        os.replace(reuse, tmp)  # overwritten in place by the build
    try:
        res = (build or build_site)(con, tmp, run_id=run_id, **kw)
    except BaseException:
        remove_tree(tmp, background_cleanup)
        raise
    res.site_dir = str(site_dir)
    return res


def swap_site(site_dir: Path, run_id: str) -> bool:
    """Publish the staged site of ``run_id``: rename the live site to
    ``.<site>.old-<run_id>``, then the staged folder to the site (two renames;
    a kill between them is repaired by the next ``stage_site``). Returns False
    when the run staged nothing."""
    site_dir = Path(site_dir)
    tmp = staged_path(site_dir, run_id)
    if not tmp.is_dir():
        return False
    old = site_dir.with_name(f".{site_dir.name}.old-{run_id}")
    if site_dir.exists():
        os.replace(site_dir, old)
    os.replace(tmp, site_dir)
    return True


def discard_staged_site(site_dir: Path, run_id: str, background: bool = True) -> None:
    """Drop the staged site of a run that did not commit."""
    remove_tree(staged_path(Path(site_dir), run_id), background)


def publish_site(con: duckdb.DuckDBPyConnection, site_dir: Path, *, run_id: str, background_cleanup: bool = True,
                 build: Optional[Callable[..., SiteResult]] = None, **kw) -> SiteResult:
    """Build into a temporary sibling folder, then swap it in (``stage_site``
    then ``swap_site``; the Dagster job does the two in separate assets so the
    site is swapped only after the warehouse commit)."""
    res = stage_site(con, site_dir, run_id=run_id, background_cleanup=background_cleanup, build=build, **kw)
    swap_site(site_dir, run_id)
    return res
