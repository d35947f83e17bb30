-- Deferred cancellations ending: the items of list 'deferrals_ending' (XFER-DEFERRAL-ENDING),
-- on the list of the NEW employer (findings.uscc, rules.md v2: the transfer is its step), one
-- row per permit, with the old employer by name. due_on: the finding's (the deferral's end E).
CREATE OR REPLACE TABLE todo_deferrals_ending AS
WITH g AS (
    SELECT uscc, entity_key AS permit_no, any_value(id_number) AS id_number,
           string_agg(rule_id, ',' ORDER BY rule_id) AS rule_ids,
           string_agg(message_zh, '；' ORDER BY rule_id) AS reason_zh,
           string_agg(message_en, '; ' ORDER BY rule_id) AS reason_en,
           min(CAST(json_extract_string(detail, '$.deferred_on') AS DATE)) AS deferred_on,
           min(CAST(json_extract_string(detail, '$.deferral_end') AS DATE)) AS deferral_end,
           any_value(json_extract_string(detail, '$.permit_uscc')) AS old_uscc, min(due_on) AS f_due
    FROM todo_items WHERE list = 'deferrals_ending' GROUP BY uscc, entity_key)
SELECT as_of() AS as_of, g.uscc, g.permit_no, g.id_number, mask_id(g.id_number) AS id_number_masked, pe.name,
       g.old_uscc AS old_employer_uscc, e.name AS old_employer_name, g.deferred_on, g.deferral_end,
       coalesce(g.f_due, g.deferral_end, as_of()) AS due_on,
       CAST(coalesce(g.f_due, g.deferral_end, as_of()) - as_of() AS INTEGER) AS days_left,
       g.rule_ids, g.reason_zh, g.reason_en
FROM g LEFT JOIN persons pe ON pe.id_number = g.id_number LEFT JOIN employers e ON e.uscc = g.old_uscc
ORDER BY g.uscc, due_on NULLS LAST, g.permit_no;
