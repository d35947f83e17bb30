"""reports.files.overwrite: a file rewritten in place holds exactly the new bytes."""
import os
import stat

from hypothesis import given, settings, strategies as st

from reports.files import overwrite


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=20_000), min_size=1, max_size=5))
def test_overwrite_leaves_exactly_the_last_bytes(tmp_path_factory, contents):
    path = tmp_path_factory.mktemp("ow") / "f.bin"
    for data in contents:
        assert overwrite(path, data) == len(data)
        assert path.read_bytes() == data  # shorter than before: the old tail is gone


def test_overwrite_never_empties_the_file(tmp_path, monkeypatch):
    """The point of it: no truncate-then-allocate. When the new bytes are
    written the file still has its old length (its blocks), and it is the same
    inode afterwards."""
    import reports.files as F

    p = tmp_path / "page.html"
    overwrite(p, b"a" * 50_000)
    ino = os.stat(p).st_ino
    sizes_at_write = []
    real_write = os.write

    def spy(fd, data):
        sizes_at_write.append(os.fstat(fd).st_size)
        return real_write(fd, data)

    monkeypatch.setattr(F.os, "write", spy)
    overwrite(p, b"b" * 40_000)
    assert sizes_at_write and sizes_at_write[0] == 50_000
    assert os.stat(p).st_ino == ino
    assert p.read_bytes() == b"b" * 40_000


def test_new_file_gets_the_same_mode_as_open(tmp_path):
    overwrite(tmp_path / "a", b"x")
    with open(tmp_path / "b", "wb") as fh:
        fh.write(b"x")
    assert stat.S_IMODE(os.stat(tmp_path / "a").st_mode) == stat.S_IMODE(os.stat(tmp_path / "b").st_mode)
