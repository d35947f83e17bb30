-- The rule book's own tables over the big inputs, which only rules read (run by
-- expectations/engine.py: prepare_rule_tables, after preamble.sql, which creates the macros
-- and the empty coverage tables the macros bind to). The marts skip them.

-- (v2) birth date and gender of a person: the preamble's person_birth_on / person_sex
-- (a view: the rules read a few of its rows, joined on id_number)
CREATE OR REPLACE TEMP VIEW _persons_x AS
SELECT pe.*, coalesce(pe.id_type, 'resident_id') = 'passport' AS needs_work_permit,
       person_birth_on(pe.id_type, pe.id_number, pe.birth_date) AS birth_on,
       person_sex(pe.id_type, pe.id_number, pe.gender) AS sex
FROM persons pe;

-- contributions, aggregated once (one group-by over the big table): per person, kind and
-- withholder (uscc, name) a bit string over the months cov_min .. cov_max (variables set by
-- the engine, as is kinds: the policies' contribution kinds; character i = month
-- cov_min + i - 1, '1' = a row of that kind and withholder exists, amount 0 counts; i_first /
-- i_last: the month_index of its first / last month):
-- _wh_bits, read by withholder_bad (preamble.sql); and per person and kind the OR of those
-- (_cov_kind: '1' = a row of that kind exists).
CREATE OR REPLACE TEMP TABLE _wh_bits AS
WITH g AS (
    SELECT c.id_number, c.kind, c.withholder_uscc AS wu, c.withholder_name AS wn,
           bitstring_agg(month_index(c.month), getvariable('cov_min'), getvariable('cov_max')) AS b,
           min(month_index(c.month)) AS i_first, max(month_index(c.month)) AS i_last
    FROM contributions c
    WHERE c.month IS NOT NULL AND list_contains(getvariable('kinds'), c.kind)
    GROUP BY c.id_number, c.kind, c.withholder_uscc, c.withholder_name),
-- name_key once per distinct name without a withholder_uscc, not per grouped row
nk AS (SELECT wn, name_key(wn) AS wkey FROM (SELECT DISTINCT wn FROM g WHERE wu IS NULL))
SELECT g.id_number, g.kind, g.wu, g.wn, CASE WHEN g.wu IS NULL THEN nk.wkey END AS wkey, g.b, g.i_first, g.i_last
FROM g LEFT JOIN nk ON nk.wn = g.wn;
CREATE OR REPLACE TEMP TABLE _cov_kind AS
SELECT id_number, kind, bit_or(b) AS b FROM _wh_bits GROUP BY id_number, kind;
-- month m is covered for kind set K (a policy's contribution_kinds, as bit mask kmask)
-- when every kind of K has a row for m: the AND of the kinds' bit strings (bits).
CREATE OR REPLACE TEMP TABLE _cov AS
WITH masks AS (SELECT DISTINCT kinds_mask FROM _policy)
SELECT ck.id_number, m.kinds_mask AS kmask, CAST(bit_and(ck.b) AS VARCHAR) AS bits
FROM _cov_kind ck JOIN _kinds k ON k.kind = ck.kind JOIN masks m ON (k.bit & m.kinds_mask) <> 0
GROUP BY ck.id_number, m.kinds_mask
HAVING count(*) = bit_count(m.kinds_mask);
