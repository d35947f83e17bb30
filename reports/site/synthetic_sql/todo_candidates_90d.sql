CREATE OR REPLACE TABLE todo_candidates_90d AS
SELECT $as_of AS as_of, uscc_of(i) AS uscc, pid(i + 50000000) AS id_number,
       mask_id(pid(i + 50000000)) AS id_number_masked,
       pname(i + 50000000) AS name, ($as_of - INTERVAL 150 DAY)::DATE AS hired_on,
       'bachelor' AS highest_degree, '学士' AS highest_degree_zh, 'none' AS title_level, '无' AS title_level_zh,
       ($as_of + INTERVAL (h(i, 90) % 90) DAY)::DATE AS eligible_on, (h(i, 90) % 90)::INTEGER AS days_to_eligible,
       h(i, 90) % 90 = 0 AS eligible_now, '任职满6个月' AS waiting_for_zh,
       ($as_of + INTERVAL (h(i, 90) % 90) DAY)::DATE AS due_on
FROM range($n) t(i) WHERE h(i, 91) % 2 = 0
