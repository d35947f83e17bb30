-- The rule step keeps the candidates' verdicts (expectations/candidates.py: save_candidates):
-- one row per candidate of _cand with its projection and the list of its checks.
-- Parameter: the run id.
CREATE OR REPLACE TABLE candidate_checks AS
WITH k AS (
    SELECT application_id,
           list({'rule_id': rule_id, 'breaks': breaks, 'ok_on': ok_on, 'state': state} ORDER BY rule_id) AS checks
    FROM _cand_checks GROUP BY application_id)
SELECT CAST(? AS VARCHAR) AS run_id, as_of() AS as_of, c.application_id, c.id_number, c.uscc, c.hired_on, c.pkey,
       p.projected_on, p.eligible_on, coalesce(k.checks, []) AS checks
FROM _cand c LEFT JOIN _cand_projection p USING (application_id) LEFT JOIN k USING (application_id)
ORDER BY c.application_id;
