-- Employers by non-compliance findings (is_noncompliance, sql/macros.sql) per 100 active permits;
-- waived findings (approved exceptions) are not non-compliance.
CREATE OR REPLACE TABLE bureau_employer_ranking AS
WITH nc AS (
    SELECT uscc, count(*) AS n, mode(rule_id) AS top_rule_id FROM findings
    WHERE uscc IS NOT NULL AND is_noncompliance(rule_id) AND NOT coalesce(waived, false) GROUP BY uscc),
ap AS (SELECT uscc, count(*) AS n FROM _active_permits GROUP BY uscc),
j AS (
    SELECT e.uscc, e.name, e.district, lab('district', e.district) AS district_zh,
           ap.n AS permits_active, nc.n AS noncompliance_findings,
           round(100.0 * nc.n / ap.n, 2) AS noncompliance_per_100, nc.top_rule_id
    FROM nc JOIN ap USING (uscc) JOIN employers e USING (uscc))
SELECT as_of() AS as_of,
       row_number() OVER (ORDER BY noncompliance_per_100 DESC, noncompliance_findings DESC, uscc) AS rank,
       uscc, name, district, district_zh, CAST(permits_active AS BIGINT) AS permits_active,
       CAST(noncompliance_findings AS BIGINT) AS noncompliance_findings, noncompliance_per_100, top_rule_id
FROM j ORDER BY rank;
