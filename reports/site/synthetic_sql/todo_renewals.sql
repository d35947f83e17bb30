-- $big_rows: extra renewal rows of the first employer (the page-size cap test); none when 0
CREATE OR REPLACE TABLE todo_renewals AS
WITH rows AS (SELECT i AS e, r FROM range($n) t(i), range(3) s(r) WHERE h(i * 10 + r, 51) % 4 <> 0
              UNION ALL SELECT 0 AS e, r FROM range($big_rows) t(r)),
k AS (SELECT e, r, e * 100000 + r AS x FROM rows)
SELECT $as_of AS as_of, uscc_of(e) AS uscc, pid(x) AS id_number,
       mask_id(pid(x)) AS id_number_masked, pname(x) AS name,
       'BJ' || lpad(CAST(x AS VARCHAR), 9, '0') AS permit_no,
       ($as_of + INTERVAL (h(x, 52) % 120 - 40) DAY)::DATE AS expires_on,
       ($as_of + INTERVAL (h(x, 52) % 120 - 70) DAY)::DATE AS window_start,
       ($as_of + INTERVAL (h(x, 52) % 120 - 10) DAY)::DATE AS window_end,
       pick(['due_soon', 'open', 'lapsed'], x, 53) AS window_state,
       CASE pick(['due_soon', 'open', 'lapsed'], x, 53) WHEN 'due_soon' THEN '即将到期'
            WHEN 'open' THEN '续签办理期内' ELSE '已过续签期' END AS window_state_zh,
       (h(x, 52) % 120 - 70)::INTEGER AS days_to_window_start, (h(x, 52) % 120 - 10)::INTEGER AS days_left,
       ($as_of + INTERVAL (h(x, 52) % 120 - 10) DAY)::DATE AS due_on, 'EXP-WINDOW-OPEN' AS rule_ids
FROM k
