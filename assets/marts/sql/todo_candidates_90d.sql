-- Candidates who will be eligible within 90 days (outputs.md: the employer page's list). Not
-- fed by findings (they have not applied): the candidates mart judges the ELIG rules for
-- them. due_on = eligible_on, the first day they can apply.
CREATE OR REPLACE TABLE todo_candidates_90d AS
SELECT as_of() AS as_of, uscc, id_number, id_number_masked, name, hired_on, eligible_on, days_to_eligible,
       eligible_now, waiting_for_zh, eligible_on AS due_on
FROM candidates WHERE eligible_on IS NOT NULL AND eligible_on <= as_of() + 90
ORDER BY uscc, due_on, id_number;
