-- Reissues owed after the employer renamed itself: the items of list 'reissues'
-- (NC-NAME-CHANGE-REISSUE), one row per permit. due_on: the finding's, else the date of the
-- name change (detail), else as_of.
CREATE OR REPLACE TABLE todo_reissues AS
WITH g AS (
    SELECT uscc, entity_key AS permit_no, any_value(id_number) AS id_number,
           string_agg(rule_id, ',' ORDER BY rule_id) AS rule_ids,
           string_agg(message_zh, '；' ORDER BY rule_id) AS reason_zh,
           string_agg(message_en, '; ' ORDER BY rule_id) AS reason_en,
           min(CAST(json_extract_string(detail, '$.name_changed_on') AS DATE)) AS name_changed_on,
           min(CAST(json_extract_string(detail, '$.issued_on') AS DATE)) AS issued_on, min(due_on) AS f_due
    FROM todo_items WHERE list = 'reissues' GROUP BY uscc, entity_key)
SELECT as_of() AS as_of, g.uscc, g.permit_no, g.id_number, mask_id(g.id_number) AS id_number_masked, pe.name,
       g.issued_on, g.name_changed_on, coalesce(g.f_due, g.name_changed_on, as_of()) AS due_on,
       greatest(CAST(as_of() - coalesce(g.f_due, g.name_changed_on, as_of()) AS INTEGER), 0) AS days_overdue,
       g.rule_ids, g.reason_zh, g.reason_en
FROM g LEFT JOIN persons pe ON pe.id_number = g.id_number
ORDER BY g.uscc, due_on NULLS LAST, g.permit_no;
