-- Approved exceptions (findings.waived) that expire within the next 30 days: the finding returns to the lists.
SELECT f.uscc, 'waiver_expiring' AS kind,
       'waiver:' || f.rule_id || ':' || f.key_safe || ':' || CAST(f.waiver_expires_on AS VARCHAR) AS item_key,
       f.waiver_expires_on AS due_on, p.holder_name AS name, f.id_number, f.entity_key AS ref,
       format('已批准的例外({})将于 {} 到期,到期后该事项重新列入待办:{}', f.rule_id,
              f.waiver_expires_on, f.message_zh) AS line_zh,
       format('The approved exception ({}) expires on {}; the matter returns to the to-do list: {}', f.rule_id,
              f.waiver_expires_on, f.message_en) AS line_en
FROM _notify_findings f
LEFT JOIN permit_status p ON f.entity_type = 'permit' AND p.permit_no = f.entity_key
WHERE f.waived AND f.waiver_expires_on BETWEEN $as_of AND $horizon
