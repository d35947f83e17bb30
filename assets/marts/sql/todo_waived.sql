-- Approved exceptions: every waived finding of the employer (findings.waived, rules.md
-- § Waivers), one row per finding, with the waiver's reason and end date (detail.waiver).
-- These are not open work: no other list, KPI or count holds them. The entity key is masked
-- when it is a person's ID (a dependent). due_on: the waiver's expires_on (the exception ends;
-- empty = no end date, listed last).
CREATE OR REPLACE TABLE todo_waived AS
SELECT as_of() AS as_of, i.uscc, i.rule_id AS rule_ids, i.severity, i.entity_type, i.entity_key,
       CASE WHEN i.entity_type IN ('dependent', 'person') THEN mask_id(i.entity_key) ELSE i.entity_key END
           AS entity_key_masked,
       i.id_number, i.id_number_masked, pe.name, i.message_zh AS reason_zh, i.message_en AS reason_en,
       json_extract_string(i.detail, '$.waiver.reason') AS waiver_reason,
       json_extract_string(i.detail, '$.waiver.approved_by') AS approved_by,
       CAST(json_extract_string(i.detail, '$.waiver.approved_on') AS DATE) AS approved_on,
       CAST(json_extract_string(i.detail, '$.waiver.expires_on') AS DATE) AS due_on
FROM todo_items i LEFT JOIN persons pe ON pe.id_number = i.id_number
WHERE i.list = 'waived'
ORDER BY i.uscc, due_on NULLS LAST, i.rule_id, i.entity_key;
