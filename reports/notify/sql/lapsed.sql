-- Permits whose renewal window has closed without a renewal in hand (EXP-LAPSED).
SELECT uscc, 'lapsed' AS kind,
       'lapsed:' || permit_no || ':' || CAST(window_end AS VARCHAR) AS item_key,
       window_end AS due_on, name, id_number, permit_no AS ref,
       format('{} {} 证件 {}:续签办理期已于 {} 结束,证件已过续签期;请尽快联系所在区人才服务窗口办理。', name,
              id_number_masked, permit_no, window_end) AS line_zh,
       format('{} {} permit {}: the renewal window closed on {} — contact the district service window now.', name,
              id_number_masked, permit_no, window_end) AS line_en
FROM todo_renewals
WHERE window_state = 'lapsed'
