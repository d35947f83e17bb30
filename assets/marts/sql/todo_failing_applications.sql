-- Failing applications: open applications with at least one error finding; every reason
-- is the finding's own message.
CREATE OR REPLACE TABLE todo_failing_applications AS
WITH agg AS (
    SELECT entity_key AS application_id,
           count(*) FILTER (WHERE severity = 'error') AS n_err,
           string_agg(rule_id, ',' ORDER BY rule_id) FILTER (WHERE severity = 'error') AS rule_ids,
           string_agg(message_zh, '；' ORDER BY rule_id) FILTER (WHERE severity = 'error') AS reasons_zh,
           string_agg(message_en, '; ' ORDER BY rule_id) FILTER (WHERE severity = 'error') AS reasons_en,
           string_agg(message_zh, '；' ORDER BY rule_id) FILTER (WHERE severity <> 'error') AS warnings_zh
    FROM findings WHERE entity_type = 'application' GROUP BY entity_key)
SELECT as_of() AS as_of, a.uscc, a.application_id, a.id_number, mask_id(a.id_number) AS id_number_masked,
       pe.name, a.type, lab('application_type', a.type) AS type_zh, a.status,
       lab('application_status', a.status) AS status_zh, a.permit_no, a.submitted_on,
       CAST(agg.n_err AS INTEGER) AS reason_count, agg.rule_ids, agg.reasons_zh, agg.reasons_en, agg.warnings_zh
FROM applications a JOIN agg USING (application_id) LEFT JOIN persons pe ON pe.id_number = a.id_number
WHERE is_open(a.status) AND agg.n_err > 0
ORDER BY a.uscc, a.submitted_on NULLS LAST, a.application_id;
