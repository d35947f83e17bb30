-- Findings with a due date within the next 30 days (as_of .. horizon), not waived.
SELECT f.uscc, 'due' AS kind,
       'due:' || f.rule_id || ':' || f.key_safe || ':' || CAST(f.due_on AS VARCHAR) AS item_key,
       f.due_on, p.holder_name AS name, f.id_number, f.entity_key AS ref,
       f.message_zh || format('(办理期限 {})', f.due_on) AS line_zh,
       f.message_en || format(' (due {})', f.due_on) AS line_en
FROM _notify_findings f
LEFT JOIN permit_status p ON f.entity_type = 'permit' AND p.permit_no = f.entity_key
WHERE NOT f.waived AND f.due_on BETWEEN $as_of AND $horizon
