-- Applications to put right: the items of list 'applications' (every ELIG-*, RENEW-*,
-- XFER-OLD-NOT-CANCELLED, REISSUE-PHOTO-MISMATCH finding), one row per application, every
-- reason the finding's own message. reason_count counts the errors (the application will be
-- returned as it stands: will_be_returned); warnings ("in principle" conditions, a contract to
-- renew first) are listed beside them. due_on: the findings' due_on, else as_of (now).
CREATE OR REPLACE TABLE todo_failing_applications AS
WITH agg AS (
    SELECT uscc, entity_key AS application_id, any_value(id_number) AS id_number, min(due_on) AS f_due,
           count(*) FILTER (WHERE severity = 'error') AS n_err,
           count(*) FILTER (WHERE severity <> 'error') AS n_warn,
           string_agg(rule_id, ',' ORDER BY rule_id) AS rule_ids,
           string_agg(message_zh, '；' ORDER BY rule_id) FILTER (WHERE severity = 'error') AS reasons_zh,
           string_agg(message_en, '; ' ORDER BY rule_id) FILTER (WHERE severity = 'error') AS reasons_en,
           string_agg(message_zh, '；' ORDER BY rule_id) FILTER (WHERE severity <> 'error') AS warnings_zh,
           string_agg(message_en, '; ' ORDER BY rule_id) FILTER (WHERE severity <> 'error') AS warnings_en
    FROM todo_items WHERE list = 'applications' GROUP BY uscc, entity_key)
SELECT as_of() AS as_of, agg.uscc, agg.application_id, coalesce(a.id_number, agg.id_number) AS id_number,
       mask_id(coalesce(a.id_number, agg.id_number)) AS id_number_masked, pe.name,
       a.type, lab('application_type', a.type) AS type_zh, a.status,
       lab('application_status', a.status) AS status_zh, a.permit_no, a.submitted_on,
       CAST(agg.n_err AS INTEGER) AS reason_count, CAST(agg.n_warn AS INTEGER) AS warning_count,
       agg.n_err > 0 AS will_be_returned, agg.rule_ids, agg.reasons_zh, agg.reasons_en, agg.warnings_zh,
       agg.warnings_en, coalesce(agg.f_due, as_of()) AS due_on
FROM agg LEFT JOIN applications a USING (application_id)
LEFT JOIN persons pe ON pe.id_number = coalesce(a.id_number, agg.id_number)
ORDER BY agg.uscc, due_on NULLS LAST, a.submitted_on NULLS LAST, agg.application_id;
