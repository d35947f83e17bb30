-- Other findings of the employer (errors and warnings, not waived): each is reported once, when it is new
-- to the recipient. Open applications are reported by returned.sql, renewal states by window_open / lapsed,
-- due dates within 30 days by due.sql.
SELECT f.uscc, 'finding' AS kind,
       'finding:' || f.rule_id || ':' || f.key_safe AS item_key,
       f.due_on, p.holder_name AS name, f.id_number, f.entity_key AS ref,
       f.message_zh || CASE WHEN f.due_on IS NULL THEN '' ELSE format('(办理期限 {})', f.due_on) END AS line_zh,
       f.message_en || CASE WHEN f.due_on IS NULL THEN '' ELSE format(' (due {})', f.due_on) END AS line_en
FROM _notify_findings f
LEFT JOIN permit_status p ON f.entity_type = 'permit' AND p.permit_no = f.entity_key
WHERE NOT f.waived AND f.severity IN ('error', 'warning')
  AND f.rule_id NOT IN ('EXP-WINDOW-OPEN', 'EXP-LAPSED', 'EXP-DUE-90')
  AND NOT (f.entity_type = 'application' AND f.entity_key IN (SELECT application_id FROM todo_failing_applications
                                                      WHERE reasons_zh IS NOT NULL))
  AND (f.due_on IS NULL OR f.due_on < $as_of OR f.due_on > $horizon)
