-- The employer's own duties: the items of list 'employer' (EMP-INSPECTION-OVERDUE,
-- EMP-BRANCH-QUOTA), one row per finding (the entity is the employer itself). due_on: the
-- finding's, else the inspection's due date (detail), else as_of.
CREATE OR REPLACE TABLE todo_employer AS
SELECT as_of() AS as_of, uscc, rule_id AS rule_ids, message_zh AS reason_zh, message_en AS reason_en,
       CAST(json_extract_string(detail, '$.last_inspection_basis') AS DATE) AS last_inspection_basis,
       coalesce(due_on, CAST(json_extract_string(detail, '$.inspection_due') AS DATE), as_of()) AS due_on,
       greatest(CAST(as_of() - coalesce(due_on, CAST(json_extract_string(detail, '$.inspection_due') AS DATE),
                                        as_of()) AS INTEGER), 0) AS days_overdue
FROM todo_items WHERE list = 'employer'
ORDER BY uscc, due_on NULLS LAST, rule_ids;
