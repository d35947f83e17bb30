-- Candidates who will be eligible within 90 days (outputs.md: the employer page's list).
CREATE OR REPLACE TABLE todo_candidates_90d AS
SELECT as_of() AS as_of, uscc, id_number, id_number_masked, name, hired_on, eligible_on, days_to_eligible,
       eligible_now, waiting_for_zh
FROM candidates WHERE eligible_on IS NOT NULL AND eligible_on <= as_of() + 90
ORDER BY uscc, eligible_on, id_number;
