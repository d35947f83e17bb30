-- Cancellations owed: the items of list 'cancellations' (NC-LEFT-NOT-CANCELLED,
-- XFER-DEFERRAL-EXPIRED, NC-WORK-PERMIT-EXPIRED), one row per permit of the employer the
-- finding is charged to (findings.uscc: a deferral's new employer, rules.md v2). The row
-- also carries the findings its rule supersedes (superseded_rule_ids: a permit to cancel
-- needs no renewal). due_on: the finding's due_on, else the date the duty arose (left_on,
-- the deferral's end, the work permit's expiry), else as_of.
CREATE OR REPLACE TABLE todo_cancellations AS
WITH i AS (
    SELECT uscc, entity_key AS permit_no, any_value(id_number) AS id_number,
           string_agg(rule_id, ',' ORDER BY rule_id) FILTER (WHERE rule_list = 'cancellations') AS rule_ids,
           string_agg(rule_id, ',' ORDER BY rule_id) FILTER (WHERE rule_list <> 'cancellations') AS superseded_rule_ids,
           string_agg(message_zh, '；' ORDER BY rule_id) FILTER (WHERE rule_list = 'cancellations') AS reason_zh,
           string_agg(message_en, '; ' ORDER BY rule_id) FILTER (WHERE rule_list = 'cancellations') AS reason_en,
           min(due_on) FILTER (WHERE rule_list = 'cancellations') AS f_due,
           min(CAST(json_extract_string(detail, '$.left_on') AS DATE)) AS left_on,
           min(CAST(json_extract_string(detail, '$.deferral_end') AS DATE)) AS deferral_end,
           min(CAST(json_extract_string(detail, '$.work_permit_expires_on') AS DATE)) AS work_permit_expires_on
    FROM todo_items WHERE list = 'cancellations' GROUP BY uscc, entity_key),
d AS (SELECT i.*, coalesce(f_due, left_on, deferral_end, work_permit_expires_on, as_of()) AS due_on FROM i)
SELECT as_of() AS as_of, d.uscc, d.permit_no, coalesce(p.id_number, d.id_number) AS id_number,
       mask_id(coalesce(p.id_number, d.id_number)) AS id_number_masked, pe.name,
       d.rule_ids, d.superseded_rule_ids, d.reason_zh, d.reason_en, d.left_on, p.deferred_on, d.deferral_end,
       d.work_permit_expires_on, d.due_on, greatest(CAST(as_of() - d.due_on AS INTEGER), 0) AS days_overdue,
       p.status, lab('permit_status', p.status) AS status_zh
FROM d LEFT JOIN permits p USING (permit_no)
LEFT JOIN persons pe ON pe.id_number = coalesce(p.id_number, d.id_number)
ORDER BY d.uscc, d.due_on NULLS LAST, d.permit_no;
