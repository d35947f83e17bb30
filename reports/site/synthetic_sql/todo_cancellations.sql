CREATE OR REPLACE TABLE todo_cancellations AS
SELECT $as_of AS as_of, uscc_of(i) AS uscc, pid(i + 20000000) AS id_number,
       mask_id(pid(i + 20000000)) AS id_number_masked,
       pname(i + 20000000) AS name, 'BJC' || lpad(CAST(i AS VARCHAR), 8, '0') AS permit_no,
       'NC-LEFT-NOT-CANCELLED' AS rule_id, 'NC-LEFT-NOT-CANCELLED' AS rule_ids,
       NULL::VARCHAR AS superseded_rule_ids, '持证人已离职,证件未注销' AS reason_zh,
       'Holder left; permit not cancelled' AS reason_en,
       ($as_of - INTERVAL (h(i, 61) % 200) DAY)::DATE AS left_on, NULL::DATE AS deferred_on,
       (h(i, 61) % 200)::INTEGER AS days_overdue, 'active' AS status, '有效' AS status_zh,
       ($as_of - INTERVAL (h(i, 61) % 200) DAY)::DATE AS due_on
FROM range($n) t(i) WHERE h(i, 60) % 3 = 0
