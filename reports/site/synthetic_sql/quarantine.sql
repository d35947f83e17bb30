CREATE OR REPLACE TABLE quarantine AS
SELECT 'persons' AS table_name, '人员.xlsx' AS source_file, 3 + i AS source_row, ['DQ-BAD-ID'] AS rule_ids,
       ['身份证号校验不通过'] AS reasons, '{"身份证号": "110105198001011235"}'::JSON AS raw, $run_id AS run_id
FROM range(4) t(i)
