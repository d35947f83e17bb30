CREATE OR REPLACE TABLE bureau_processing_by_district AS
SELECT $as_of AS as_of, d AS district, z AS label_zh, d AS label_en,
       (CASE WHEN i > 14 THEN 3 ELSE $n // (i + 1) + 5 END)::BIGINT AS applications,
       (CASE WHEN i > 14 THEN 3 ELSE $n // (i + 1) END)::BIGINT AS decided,
       0::BIGINT AS within_sla, (i % 7)::BIGINT AS over_sla, 0.8 + (i % 5) / 25.0 AS share_within_sla,
       6.0 + i % 9 AS median_wd, 12.0 + i % 11 AS p90_wd, 7.5 AS mean_wd, 15 AS sla_working_days
FROM (SELECT unnest($districts) AS d, unnest($district_zh) AS z, generate_subscripts($districts, 1) AS i)
