CREATE OR REPLACE TABLE ingest_log AS
SELECT $run_id AS run_id, f AS source_file, t AS table_name, r::BIGINT AS rows_read,
       (r - q - c)::BIGINT AS rows_loaded, q::BIGINT AS rows_quarantined, c::BIGINT AS rows_collapsed
FROM (VALUES ('employers.csv', 'employers', $n + 3, 2, 1), ('人员.xlsx', 'persons', $n * 10, 4, 0),
             ('permits.parquet', 'permits', $n * 8, 1, 0)) v(f, t, r, q, c)
