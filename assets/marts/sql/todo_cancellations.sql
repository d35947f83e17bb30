-- Cancellations owed: the permits with an NC-LEFT-NOT-CANCELLED or XFER-DEFERRAL-EXPIRED
-- finding, with the finding's own message and dates (its detail: left_on, deferral_end).
CREATE OR REPLACE TABLE todo_cancellations AS
WITH f AS (
    SELECT rule_id, entity_key AS permit_no, any_value(message_zh) AS message_zh,
           any_value(message_en) AS message_en,
           any_value(CAST(json_extract_string(detail, '$.left_on') AS DATE)) AS left_on,
           any_value(CAST(json_extract_string(detail, '$.deferral_end') AS DATE)) AS deferral_end
    FROM findings WHERE entity_type = 'permit'
      AND rule_id IN ('NC-LEFT-NOT-CANCELLED', 'XFER-DEFERRAL-EXPIRED')
    GROUP BY rule_id, entity_key)
SELECT as_of() AS as_of, p.uscc, p.permit_no, p.id_number, mask_id(p.id_number) AS id_number_masked,
       pe.name, f.rule_id, f.message_zh AS reason_zh, f.message_en AS reason_en,
       f.left_on, p.deferred_on,
       CAST(as_of() - coalesce(f.left_on, f.deferral_end) AS INTEGER) AS days_overdue,
       p.status, lab('permit_status', p.status) AS status_zh
FROM f JOIN permits p USING (permit_no)
LEFT JOIN persons pe ON pe.id_number = p.id_number
ORDER BY p.uscc, days_overdue DESC NULLS LAST, p.permit_no;
