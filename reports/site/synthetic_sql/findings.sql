CREATE OR REPLACE TABLE findings AS
SELECT $run_id AS run_id, $as_of AS as_of, 'NC-LEFT-NOT-CANCELLED' AS rule_id, 'error' AS severity,
       'permit' AS entity_type, permit_no AS entity_key, uscc, id_number, NULL::DATE AS due_on,
       reason_zh AS message_zh, reason_en AS message_en, '{}'::JSON AS detail
FROM todo_cancellations
