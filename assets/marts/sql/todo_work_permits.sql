-- Work permits ending before the residence permit: the items of list 'work_permits'
-- (EXP-WORK-PERMIT-DUE), one row per permit. The work permit's number is not published (an
-- identity document number). due_on: the finding's (the work permit's expiry).
CREATE OR REPLACE TABLE todo_work_permits AS
WITH g AS (
    SELECT uscc, entity_key AS permit_no, any_value(id_number) AS id_number,
           string_agg(rule_id, ',' ORDER BY rule_id) AS rule_ids,
           string_agg(message_zh, '；' ORDER BY rule_id) AS reason_zh,
           string_agg(message_en, '; ' ORDER BY rule_id) AS reason_en,
           min(CAST(json_extract_string(detail, '$.work_permit_expires_on') AS DATE)) AS work_permit_expires_on,
           min(CAST(json_extract_string(detail, '$.expires_on') AS DATE)) AS expires_on, min(due_on) AS f_due
    FROM todo_items WHERE list = 'work_permits' GROUP BY uscc, entity_key)
SELECT as_of() AS as_of, g.uscc, g.permit_no, g.id_number, mask_id(g.id_number) AS id_number_masked, pe.name,
       g.work_permit_expires_on, g.expires_on, coalesce(g.f_due, g.work_permit_expires_on, as_of()) AS due_on,
       CAST(coalesce(g.f_due, g.work_permit_expires_on, as_of()) - as_of() AS INTEGER) AS days_left,
       g.rule_ids, g.reason_zh, g.reason_en
FROM g LEFT JOIN persons pe ON pe.id_number = g.id_number
ORDER BY g.uscc, due_on NULLS LAST, g.permit_no;
