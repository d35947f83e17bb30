-- Candidates: the rule book judged for people who have not applied yet.
-- Needs the preamble (as_of(), _employers, _active_permits, _apps, month helpers).
-- Run by expectations/candidates.py before it swaps _apps for the hypothetical applications.

-- One hypothetical new application per current employee (an employments row with
-- hired_on <= as_of and left_on empty or after as_of) of a known employer who holds no
-- active permit and has no open application (outputs.md: candidates). Key
-- 'CAND:<uscc>:<id_number>'; status draft without submitted_on, so d = as_of; the policy
-- variant of the employer's district (pkey), as for a real application.
CREATE OR REPLACE TEMP TABLE _cand AS
WITH cur AS (
    SELECT id_number, uscc, min(hired_on) AS hired_on FROM employments
    WHERE hired_on <= as_of() AND (left_on IS NULL OR left_on > as_of()) GROUP BY id_number, uscc),
busy AS (SELECT id_number FROM _active_permits UNION SELECT id_number FROM _apps WHERE is_open)
SELECT 'CAND:' || cur.uscc || ':' || cur.id_number AS application_id, cur.id_number, cur.uscc, cur.hired_on,
       e.pkey
FROM cur ANTI JOIN busy USING (id_number) JOIN _employers e ON e.uscc = cur.uscc;
