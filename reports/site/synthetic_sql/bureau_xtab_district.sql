-- Active permits by district (rows) and one other dimension {kind} (columns: $codes, $labels_zh); the
-- builder puts the dimension into the table name (an identifier, not a value).
CREATE OR REPLACE TABLE bureau_xtab_district_{kind} AS
SELECT $as_of AS as_of, d AS row_code, dz AS row_label_zh, c AS col_code, cz AS col_label_zh,
       (CASE WHEN di > 12 THEN h(di * 10 + ci, 121) % 6
             ELSE $n // (di + ci) + h(di * 10 + ci, 122) % 9 END)::BIGINT AS permits
FROM (SELECT unnest($districts) AS d, unnest($district_zh) AS dz, generate_subscripts($districts, 1) AS di),
     (SELECT unnest($codes) AS c, unnest($labels_zh) AS cz, generate_subscripts($codes, 1) AS ci)
