-- Open applications that will be returned or rejected as they stand (todo_failing_applications);
-- a new set of reasons is a new item.
SELECT uscc, 'returned' AS kind,
       'returned:' || application_id || ':' || rule_ids AS item_key,
       NULL::DATE AS due_on, name, id_number, application_id AS ref,
       format('{} {} {}申请 {}({})将被退回,请在提交前补正。原因:{}', name, id_number_masked, type_zh, application_id,
              status_zh, reasons_zh) AS line_zh,
       format('{} {} {} application {} ({}) will be returned — correct it before it is submitted. Reasons: {}', name,
              id_number_masked, type, application_id, status, reasons_en) AS line_en
FROM todo_failing_applications
WHERE reasons_zh IS NOT NULL  -- warnings only: not returned (finding.sql reports them)
