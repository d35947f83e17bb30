"""(v2) Birth date and gender for every ID type in the marts: the numbers of the 18-character documents carry
them, a passport's does not (data-contract.md: the persons table's birth_date / gender, required for passports).
The marts read them through the rule book's person_birth_on / person_sex (expectations/preamble.sql), as
_persons_x does. On the session's demo warehouse (tests/conftest.py)."""
from __future__ import annotations

import datetime as dt
import shutil

import duckdb

from assets.marts.build import build_candidates, prepare
from assets.settings import PACKAGED_POLICY


def _as_of(demo_run) -> dt.date:
    a = demo_run["as_of"]
    return dt.date.fromisoformat(a) if isinstance(a, str) else a


def test_demo_candidates_of_every_id_type_show_birth_date_and_gender(demo_run, tmp_path):
    """On a copy of the session's demo warehouse whose holders of other ID documents (passports, residence
    permits, foreign permanent residence cards: all with permits or applications in the demo) had none, the
    candidates mart shows the persons' birth date and gender for every ID type."""
    db = tmp_path / "warehouse.duckdb"
    shutil.copyfile(demo_run["warehouse"], db)
    as_of = _as_of(demo_run)
    con = duckdb.connect(str(db))
    try:
        for t in ("applications", "permits"):
            con.execute(f"DELETE FROM {t} WHERE id_number IN (SELECT id_number FROM persons "
                        "WHERE coalesce(id_type, 'resident_id') <> 'resident_id')")
        con.execute("DROP TABLE candidate_checks")  # the rule step's verdicts predate the change: judged here
        con.execute("DROP TABLE candidate_applications")
        prepare(con, as_of, PACKAGED_POLICY)
        build_candidates(con, as_of)
        rows = con.execute("""SELECT p.id_type, c.birth_date, c.gender, c.age, p.birth_date, p.gender
                              FROM candidates c JOIN persons p USING (id_number)""").fetchall()
    finally:
        con.close()
    types = {r[0] for r in rows}
    assert {"passport", "hk_mo_tw_residence", "foreign_permanent_resident", "resident_id"} <= types
    other = [r for r in rows if r[0] != "resident_id"]
    assert all(r[1] is not None and r[2] in ("M", "F") and r[3] is not None for r in other if r[4] is not None)
    # the ID agrees with the columns where both exist (contract): one reading for every ID type
    assert all((r[1], r[2]) == (r[4], r[5]) for r in rows if r[4] is not None and r[5] is not None)


def test_demo_bureau_counts_every_holder_by_gender_and_age(ro_con, demo_run):
    """The demo's passport holders with active permits are counted by their gender and age band, not as
    "unknown" gender and "55_plus" (an empty birth date fell through the age bands)."""
    dims = {(d, c): n for d, c, n in ro_con.sql(
        "SELECT dimension, code, permits FROM bureau_permits_by_dimension").fetchall()}
    holders = ro_con.execute("""SELECT count(*) FILTER (WHERE pe.id_type = 'passport'),
                                       count(*) FILTER (WHERE pe.birth_date <= ? - INTERVAL 55 YEAR)
                                FROM permits pm JOIN persons pe USING (id_number) WHERE pm.status = 'active'""",
                             [_as_of(demo_run)]).fetchall()[0]
    passports, aged_55 = holders
    assert passports > 0
    assert ("gender", None) not in dims and ("age_band", None) not in dims
    assert dims[("age_band", "55_plus")] == aged_55  # the persons' birth dates, read directly
