-- Renewal windows that are open (EXP-WINDOW-OPEN), while more than 30 days remain;
-- in the last 30 days the finding's due date (due.sql) says the same with its deadline.
SELECT uscc, 'window_open' AS kind,
       'window_open:' || permit_no || ':' || CAST(window_start AS VARCHAR) AS item_key,
       window_end AS due_on, name, id_number, permit_no AS ref,
       format('{} {} 证件 {}:续签办理期 {} 至 {} 已开始,请在 {} 前提交续签申请。', name, id_number_masked, permit_no,
              window_start, window_end, window_end) AS line_zh,
       format('{} {} permit {}: the renewal window {} to {} is open — file the renewal by {}.', name, id_number_masked,
              permit_no, window_start, window_end, window_end) AS line_en
FROM todo_renewals
WHERE window_state = 'open' AND window_end > $horizon
