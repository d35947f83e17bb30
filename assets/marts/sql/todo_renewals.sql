-- Renewals to file: the items of list 'renewals' (EXP-DUE-90, EXP-WINDOW-OPEN, EXP-LAPSED by
-- their YAML `todo:`), one row per permit, with the window the rule book computed
-- (permit_status reads _permits_x). A holder who has left is not here: NC-LEFT-NOT-CANCELLED
-- supersedes this list (todo_items), the permit is on todo_cancellations. due_on = window_end,
-- the last day the renewal can be filed.
CREATE OR REPLACE TABLE todo_renewals AS
WITH i AS (
    SELECT uscc, entity_key AS permit_no, any_value(id_number) AS id_number,
           string_agg(rule_id, ',' ORDER BY rule_id) AS rule_ids,
           string_agg(message_zh, '；' ORDER BY rule_id) AS reason_zh,
           string_agg(message_en, '; ' ORDER BY rule_id) AS reason_en
    FROM todo_items WHERE list = 'renewals' GROUP BY uscc, entity_key)
SELECT as_of() AS as_of, i.uscc, i.permit_no, coalesce(ps.id_number, i.id_number) AS id_number,
       mask_id(coalesce(ps.id_number, i.id_number)) AS id_number_masked, ps.holder_name AS name,
       ps.expires_on, ps.window_start, ps.window_end, ps.window_state, ps.window_state_zh,
       CAST(ps.window_start - as_of() AS INTEGER) AS days_to_window_start,
       CAST(ps.window_end - as_of() AS INTEGER) AS days_left,
       ps.window_end AS due_on, i.rule_ids, i.reason_zh, i.reason_en
FROM i LEFT JOIN permit_status ps USING (permit_no)
ORDER BY i.uscc, due_on NULLS LAST, i.permit_no;
