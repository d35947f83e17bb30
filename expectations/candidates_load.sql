-- The candidates mart reads the rule step's verdicts under the names evaluate_candidates
-- leaves them (expectations/candidates.py: load_candidates); views, nothing copied.
CREATE OR REPLACE TEMP VIEW _cand AS
SELECT application_id, id_number, uscc, hired_on, pkey FROM candidate_applications;
CREATE OR REPLACE TEMP VIEW _cand_checks AS
SELECT application_id, rule_id, breaks, ok_on, state FROM candidate_checks;
CREATE OR REPLACE TEMP VIEW _cand_projection AS
SELECT application_id, projected_on, eligible_on FROM candidate_applications;
