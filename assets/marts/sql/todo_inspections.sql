-- Employee annual inspections: the items of list 'inspections' (NC-INSPECTION-OVERDUE), one
-- row per permit. due_on: the finding's, else the inspection's due date (detail), else as_of.
CREATE OR REPLACE TABLE todo_inspections AS
WITH g AS (
    SELECT uscc, entity_key AS permit_no, any_value(id_number) AS id_number,
           string_agg(rule_id, ',' ORDER BY rule_id) AS rule_ids,
           string_agg(message_zh, '；' ORDER BY rule_id) AS reason_zh,
           string_agg(message_en, '; ' ORDER BY rule_id) AS reason_en,
           min(CAST(json_extract_string(detail, '$.last_inspection_basis') AS DATE)) AS last_inspection_basis,
           coalesce(min(due_on), min(CAST(json_extract_string(detail, '$.inspection_due') AS DATE)), as_of()) AS due_on
    FROM todo_items WHERE list = 'inspections' GROUP BY uscc, entity_key)
SELECT as_of() AS as_of, g.uscc, g.permit_no, g.id_number, mask_id(g.id_number) AS id_number_masked, pe.name,
       g.last_inspection_basis, g.due_on, greatest(CAST(as_of() - g.due_on AS INTEGER), 0) AS days_overdue,
       g.rule_ids, g.reason_zh, g.reason_en
FROM g LEFT JOIN persons pe ON pe.id_number = g.id_number
ORDER BY g.uscc, g.due_on NULLS LAST, g.permit_no;
