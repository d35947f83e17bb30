-- The candidates mart reads the rule step's verdicts back into the TEMP tables that
-- evaluate_candidates leaves (expectations/candidates.py: load_candidates).
CREATE OR REPLACE TEMP TABLE _cand AS
SELECT application_id, id_number, uscc, hired_on, pkey FROM candidate_checks;
CREATE OR REPLACE TEMP TABLE _cand_checks AS
SELECT application_id, k.rule_id, k.breaks, k.ok_on, k.state
FROM (SELECT application_id, unnest(checks) AS k FROM candidate_checks);
CREATE OR REPLACE TEMP TABLE _cand_projection AS
SELECT application_id, projected_on, eligible_on FROM candidate_checks;
