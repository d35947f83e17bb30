-- Every finding that asks an employer to act (its rule's YAML entry names a to-do list:
-- `todo:`, loaded into _todo_routes), with the list it lands on:
--   * a waived finding (findings.waived) -> 'waived', and no other list;
--   * else the list of a not-waived finding of the same employer and entity whose rule
--     supersedes this one's list (`todo_supersedes:`, e.g. a permit to cancel needs no
--     renewal: the cancellation row carries the renewal finding), the first in list order;
--   * else its rule's own list.
-- Findings without an employer (uscc empty) are on no employer's list.
CREATE OR REPLACE TABLE todo_items AS
WITH f AS (
    SELECT f.uscc, f.rule_id, f.severity, f.entity_type, f.entity_key, f.id_number, f.due_on,
           f.message_zh, f.message_en, f.detail, coalesce(f.waived, false) AS waived,
           r.list AS rule_list, r.ord
    FROM findings f JOIN _todo_routes r USING (rule_id)
    WHERE f.uscc IS NOT NULL),
sup AS (
    SELECT f.uscc, f.entity_type, f.entity_key, s.list AS taken, arg_min(f.rule_list, f.ord) AS by_list
    FROM f JOIN _todo_supersedes s ON s.rule_id = f.rule_id
    WHERE NOT f.waived
    GROUP BY ALL)
SELECT as_of() AS as_of, f.uscc,
       CASE WHEN f.waived THEN 'waived' ELSE coalesce(sup.by_list, f.rule_list) END AS list,
       f.rule_list, f.rule_id, f.severity, f.entity_type, f.entity_key, f.id_number,
       mask_id(f.id_number) AS id_number_masked, f.due_on, f.message_zh, f.message_en, f.detail, f.waived
FROM f LEFT JOIN sup ON sup.uscc = f.uscc AND sup.entity_type = f.entity_type AND sup.entity_key = f.entity_key
                    AND sup.taken = f.rule_list
ORDER BY f.uscc, list, f.entity_key, f.rule_id;
