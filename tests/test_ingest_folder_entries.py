"""Issue 19 item 9: every entry of the input folder is accounted for in
``ingest_files``. FIFOs, sockets, broken links and links leaving the folder are
reported with a reason and never opened (a FIFO must not block the run)."""
import os
import socket
import threading

import pytest

from fixtures.ingest.make import PERSON_HEADER, base_folder, ingest, make_id, person_row, rows, write_csv

P1, P2 = make_id(seq=1), make_id(seq=2)


def _ingest_within(folder, seconds=120):
    out = {}
    th = threading.Thread(target=lambda: out.update(zip(("con", "res"), ingest(folder))), daemon=True)
    th.start()
    th.join(seconds)
    assert not th.is_alive(), "the run blocked on an input entry"
    return out["con"], out["res"]


def _files(con):
    return {r[0]: r[1:] for r in rows(con, "SELECT source_file, table_name, status, message FROM ingest_files")}


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    base_folder(d, [P1], [1])
    return d


def test_a_fifo_is_reported_and_never_opened(folder):
    os.mkfifo(folder / "contributions.csv")
    os.mkfifo(folder / "notes.txt")
    con, res = _ingest_within(folder)
    table, status, message = _files(con)["contributions.csv"]
    assert (table, status) == ("contributions", "rejected") and "FIFO" in message and "命名管道" in message
    assert _files(con)["notes.txt"][1:] == ("skipped", _files(con)["notes.txt"][2])
    assert "FIFO" in _files(con)["notes.txt"][2]
    assert res.tables["persons"] == 1
    assert [f["source_file"] for f in res.rejected_files()] == ["contributions.csv"]


def test_a_socket_is_reported(folder):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(folder / "permits.csv"))
        con, _ = _ingest_within(folder)
    finally:
        sock.close()
    table, status, message = _files(con)["permits.csv"]
    assert (table, status) == ("permits", "rejected") and "socket" in message and "套接字" in message


def test_a_broken_link_is_reported(folder):
    (folder / "dependents.csv").symlink_to(folder / "gone.csv")
    con, _ = _ingest_within(folder)
    table, status, message = _files(con)["dependents.csv"]
    assert (table, status) == ("dependents", "rejected") and "broken symbolic link" in message and "不存在" in message


def test_a_link_leaving_the_folder_is_reported_not_read(folder, tmp_path):
    outside = write_csv(tmp_path / "secret_persons.csv", PERSON_HEADER, [person_row(P2)])
    (folder / "persons_extra.csv").symlink_to(outside)
    (folder / "up.csv").symlink_to("../secret_persons.csv")
    con, res = _ingest_within(folder)
    for name, table in (("persons_extra.csv", "persons"), ("up.csv", None)):
        t, status, message = _files(con)[name]
        assert t == table and status == ("rejected" if table else "skipped")
        assert "out of the input folder" in message and "之外" in message
    assert rows(con, "SELECT id_number FROM persons") == [(P1,)]  # the outside file was not read


def test_a_link_inside_the_folder_is_read(folder):
    write_csv(folder / "source.dat", PERSON_HEADER, [person_row(P2)])
    (folder / "persons_2.csv").symlink_to("source.dat")
    con, _ = _ingest_within(folder)
    assert sorted(r[0] for r in rows(con, "SELECT id_number FROM persons")) == sorted([P1, P2])
    assert _files(con)["persons_2.csv"][1] == "loaded"
    assert _files(con)["source.dat"][1] == "unsupported"


def test_hidden_entries_and_sub_folders_are_reported_as_skipped(folder):
    (folder / ".DS_Store").write_bytes(b"\0\0")
    (folder / "archive").mkdir()
    write_csv(folder / "archive" / "persons.csv", PERSON_HEADER, [person_row(P2)])
    con, res = _ingest_within(folder)
    f = _files(con)
    assert f[".DS_Store"][:2] == (None, "skipped") and "hidden" in f[".DS_Store"][2]
    assert f["archive"][:2] == (None, "skipped") and "sub-folder" in f["archive"][2]
    assert res.rejected_files() == []
    assert rows(con, "SELECT id_number FROM persons") == [(P1,)]


def test_a_file_replaced_by_a_fifo_after_the_listing_is_not_opened(folder, monkeypatch):
    import assets.ingest.core as core

    real = core.scan_input_folder

    def then_swap(d):
        files, other = real(d)
        (folder / "persons.csv").unlink()
        os.mkfifo(folder / "persons.csv")
        return files, other
    monkeypatch.setattr(core, "scan_input_folder", then_swap)
    con, res = _ingest_within(folder)
    table, status, message = _files(con)["persons.csv"]
    assert status == "rejected" and "no longer a regular file" in message
