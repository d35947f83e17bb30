-- The rule step keeps the candidates' verdicts (expectations/candidates.py: save_candidates),
-- as evaluate_candidates left them: one row per candidate (with its projection) and one row
-- per candidate and rule. The run id: variable candidates_run_id.
CREATE OR REPLACE TABLE candidate_applications AS
SELECT CAST(getvariable('candidates_run_id') AS VARCHAR) AS run_id, as_of() AS as_of, c.application_id, c.id_number, c.uscc, c.hired_on, c.pkey,
       p.projected_on, p.eligible_on
FROM _cand c LEFT JOIN _cand_projection p USING (application_id);
-- Only the checks that do not pass: a rule without a row passes (state 'ok'), as in the mart,
-- and ok_on is read only where the rule breaks (most rows pass: at city 4.9 M of them).
CREATE OR REPLACE TABLE candidate_checks AS
SELECT application_id, rule_id, breaks, ok_on, state FROM _cand_checks WHERE state <> 'ok' OR breaks;
