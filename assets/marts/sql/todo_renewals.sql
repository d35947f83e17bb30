-- Renewals to file: active permits whose window_state (permit_status, from the EXP-* rule
-- facts) is due_soon, open or lapsed.
CREATE OR REPLACE TABLE todo_renewals AS
SELECT as_of() AS as_of, uscc, permit_no, id_number, id_number_masked, holder_name AS name,
       expires_on, window_start, window_end, window_state, window_state_zh,
       CAST(window_start - as_of() AS INTEGER) AS days_to_window_start,
       CAST(window_end - as_of() AS INTEGER) AS days_left
FROM permit_status
WHERE status = 'active' AND window_state IN ('due_soon', 'open', 'lapsed')
ORDER BY uscc, window_end, permit_no;
