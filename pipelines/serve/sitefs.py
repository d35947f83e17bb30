"""Which file of the live site a request may see, and reading it safely.

1. ``split_path`` turns the RAW request path into segments: split on '/'
   first, then percent-decode each segment once. A segment that is empty (but
   the last), '.', '..', hidden ('.x'), ends in '.', or still holds '%', '/',
   '\\' or a NUL after decoding makes the path invalid: encoded slashes,
   double encoding and dot tricks never reach the file system.
2. ``allowed`` decides by role on those exact segments (case-sensitive: a
   USCC in another case is another path, hence 404).
3. ``SiteRoot.read`` pins the live site (one ``open`` of the site folder per
   request: the publisher's atomic rename swaps whole folders, so every file of
   a request comes from one published version) and walks the segments with
   ``O_NOFOLLOW`` relative to that folder: no symlink inside the site is ever
   followed, so no link can lead outside the site or into another employer.
"""
from __future__ import annotations

import json
import os
import stat
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Optional
from urllib.parse import unquote

from pipelines.serve.accounts import User

_BAD_CHARS = ("%", "/", "\\", "\x00")


def split_path(raw_path: str) -> Optional[list[str]]:
    """Segments of a raw URL path (no query), or None when the path is not a
    plain path. A trailing '/' gives a last segment 'index.html'."""
    if not raw_path.startswith("/"):
        return None
    parts = raw_path[1:].split("/")
    out = []
    for i, part in enumerate(parts):
        if part == "":
            if i == len(parts) - 1:
                out.append("index.html")
                continue
            return None
        seg = unquote(part, errors="strict") if "%" in part else part
        if (seg in (".", "..") or seg.startswith(".") or seg.endswith(".") or seg.endswith(" ")
                or any(ch in seg for ch in _BAD_CHARS) or len(seg) > 255):
            return None
        out.append(seg)
    return out or ["index.html"]


def allowed(user: User, segs: list[str], district_of) -> bool:
    """May ``user`` see the site path ``segs``? ``district_of(uscc)`` gives an
    employer's district from the published site (only asked for districts)."""
    if user.role == "bureau":
        return True
    if segs == ["rules.html"] or (len(segs) >= 2 and segs[0] == "assets"):
        return True
    if user.role == "employer":
        return len(segs) >= 3 and segs[0] == "employers" and segs[1] == user.scope
    if user.role == "district":
        if len(segs) >= 2 and segs[0] == "bureau":
            return True
        return (len(segs) >= 3 and segs[0] == "employers" and segs[1] != "index.html"
                and user.scope is not None and district_of(segs[1]) == user.scope)
    return False


def home_path(user: User) -> str:
    if user.role == "employer":
        return f"/employers/{user.scope}/"
    if user.role == "district":
        return "/bureau/"
    return "/index.html"


class NotFound(Exception):
    pass


class IsDirectory(Exception):
    pass


class SiteUnavailable(Exception):
    pass


@dataclass
class FileData:
    body: bytes
    etag: str
    mtime: float


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)


class SiteRoot:
    """The live site folder given to ``permits serve --site``."""

    def __init__(self, path: Path, swap_wait: float = 2.0):
        self.path = Path(path)
        self.swap_wait = swap_wait
        self._districts: tuple[tuple, dict[str, str]] = ((), {})
        self._lock = threading.Lock()

    def _open_root(self) -> int:
        """The site folder as published right now. Between the publisher's two
        renames the path is briefly missing: wait for it (never serve a half-built
        ``.new-`` folder)."""
        deadline = time.monotonic() + self.swap_wait
        while True:
            try:
                return os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
            except FileNotFoundError:
                if time.monotonic() > deadline:
                    raise SiteUnavailable(str(self.path)) from None
                time.sleep(0.01)

    @contextmanager
    def pinned(self):
        """One published version for the whole request: file reads and the
        district map come from the same folder even if a swap happens meanwhile."""
        root = self._open_root()
        try:
            yield Pinned(self, root)
        finally:
            os.close(root)


class Pinned:
    def __init__(self, site: SiteRoot, root: int):
        self.site, self.root = site, root

    def read(self, segs: list[str]) -> FileData:
        fds = []
        try:
            d = self.root
            for seg in segs[:-1]:
                try:
                    d = os.open(seg, _DIR_FLAGS, dir_fd=d)
                except OSError as exc:  # ENOENT, ENOTDIR, ELOOP (a symlink), EACCES
                    raise NotFound() from exc
                fds.append(d)
            try:
                fd = os.open(segs[-1], _FILE_FLAGS, dir_fd=d)
            except OSError as exc:
                raise NotFound() from exc
            fds.append(fd)
            st = os.fstat(fd)
            if stat.S_ISDIR(st.st_mode):
                raise IsDirectory()
            if not stat.S_ISREG(st.st_mode):
                raise NotFound()
            chunks, left = [], st.st_size
            while left > 0:
                b = os.read(fd, min(left, 1 << 20))
                if not b:
                    break
                chunks.append(b)
                left -= len(b)
            body = b"".join(chunks)
            return FileData(body, f'"{st.st_ino:x}-{st.st_mtime_ns:x}-{len(body):x}"', st.st_mtime)
        finally:
            for fd in reversed(fds):
                os.close(fd)

    def district_of(self, uscc: str) -> Optional[str]:
        """An employer's district code, from the employer directory published in
        the same site version (``employers/index.html``, its ``page-data`` JSON:
        the columns uscc / name / district). Parsed once per published file."""
        try:
            d = os.open("employers", _DIR_FLAGS, dir_fd=self.root)
        except OSError:
            return None
        try:
            fd = os.open("index.html", _FILE_FLAGS, dir_fd=d)
        except OSError:
            os.close(d)
            return None
        try:
            st = os.fstat(fd)
            stamp = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
            site = self.site
            with site._lock:
                if site._districts[0] != stamp:
                    with os.fdopen(os.dup(fd), "rb") as f:
                        site._districts = (stamp, parse_directory(f.read()))
                return site._districts[1].get(uscc)
        finally:
            os.close(fd)
            os.close(d)


def parse_directory(html: bytes) -> dict[str, str]:
    """uscc -> district code from the directory page's embedded JSON."""
    start_tag = b'<script type="application/json" id="page-data">'
    i = html.find(start_tag)
    if i < 0:
        return {}
    j = html.find(b"</script>", i)
    data = json.loads(html[i + len(start_tag):j].decode("utf-8"))
    rows = data.get("rows") or {}
    return {u: d for u, d in zip(rows.get("uscc") or [], rows.get("district") or []) if u and d}
