CREATE OR REPLACE TABLE todo_failing_applications AS
SELECT $as_of AS as_of, uscc_of(i) AS uscc, pid(i + 40000000) AS id_number,
       mask_id(pid(i + 40000000)) AS id_number_masked,
       pname(i + 40000000) AS name, 'AF' || lpad(CAST(i AS VARCHAR), 8, '0') AS application_id,
       'new' AS type, '新办' AS type_zh, 'draft' AS status, '草稿' AS status_zh, NULL::VARCHAR AS permit_no,
       ($as_of - INTERVAL 5 DAY)::DATE AS submitted_on, 2 AS reason_count,
       'ELIG-TALENT,ELIG-PHOTO' AS rule_ids,
       '不满足人才条件:无学士以上学位且无中级以上职称；照片格式 png 不符合要求(应为 jpg/jpeg)' AS reasons_zh,
       'Talent condition not met; photo format png not accepted' AS reasons_en, NULL::VARCHAR AS warnings_zh,
       true AS will_be_returned, $as_of AS due_on
FROM range($n) t(i) WHERE h(i, 80) % 2 = 1
