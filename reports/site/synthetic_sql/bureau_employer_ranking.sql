CREATE OR REPLACE TABLE bureau_employer_ranking AS
SELECT $as_of AS as_of, row_number() OVER (ORDER BY findings_error DESC, uscc) AS rank, uscc, name, district,
       district_zh, permits_active::BIGINT AS permits_active,
       (findings_error + 1)::BIGINT AS noncompliance_findings,
       100.0 * (findings_error + 1) / permits_active AS noncompliance_per_100,
       'NC-LEFT-NOT-CANCELLED' AS top_rule_id
FROM employer_summary WHERE permits_active > 0
