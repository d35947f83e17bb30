CREATE OR REPLACE TABLE todo_contribution_gaps AS
SELECT $as_of AS as_of, uscc_of(i) AS uscc, pid(i + 30000000) AS id_number,
       mask_id(pid(i + 30000000)) AS id_number_masked,
       pname(i + 30000000) AS name, 'BJG' || lpad(CAST(i AS VARCHAR), 8, '0') AS permit_no,
       [DATE '2025-03-01', DATE '2025-04-01'] AS missing_months, 2 AS missing_month_count,
       '2025-03(个税)、2025-04(个税,社保)' AS missing_detail_zh,
       DATE '2025-03-01' AS first_missing_month, DATE '2025-04-01' AS last_missing_month,
       ($as_of + INTERVAL 30 DAY)::DATE AS due_on, 'NC-CONTRIB-GAP' AS rule_ids
FROM range($n) t(i) WHERE h(i, 70) % 2 = 0
