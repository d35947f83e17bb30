-- The rule book's own tables over the big inputs, which only rules read (run by
-- expectations/engine.py: prepare_rule_tables, after preamble.sql, which creates the macros
-- and the empty coverage tables the macros bind to). The marts skip them.

-- (v2) birth date and gender of a person: the preamble's person_birth_on / person_sex
CREATE OR REPLACE TEMP TABLE _persons_x AS
SELECT pe.*, coalesce(pe.id_type, 'resident_id') = 'passport' AS needs_work_permit,
       person_birth_on(pe.id_type, pe.id_number, pe.birth_date) AS birth_on,
       person_sex(pe.id_type, pe.id_number, pe.gender) AS sex
FROM persons pe;

-- contributions, aggregated once (one group-by over the big table): per person and
-- kind a bit string over the months cov_min .. cov_max (variables set by the engine;
-- character i = month cov_min + i - 1, '1' = a row of that kind exists, amount 0 counts).
CREATE OR REPLACE TEMP TABLE _cov_kind AS
SELECT c.id_number, c.kind,
       bitstring_agg(month_index(c.month), getvariable('cov_min'), getvariable('cov_max')) AS b
FROM contributions c
WHERE c.month IS NOT NULL AND c.kind IN (SELECT kind FROM _kinds)
GROUP BY c.id_number, c.kind;
-- month m is covered for kind set K (a policy's contribution_kinds, as bit mask kmask)
-- when every kind of K has a row for m: the AND of the kinds' bit strings (bits).
CREATE OR REPLACE TEMP TABLE _cov AS
WITH masks AS (SELECT DISTINCT kinds_mask FROM _policy)
SELECT ck.id_number, m.kinds_mask AS kmask, CAST(bit_and(ck.b) AS VARCHAR) AS bits
FROM _cov_kind ck JOIN _kinds k ON k.kind = ck.kind JOIN masks m ON (k.bit & m.kinds_mask) <> 0
GROUP BY ck.id_number, m.kinds_mask
HAVING count(*) = bit_count(m.kinds_mask);
