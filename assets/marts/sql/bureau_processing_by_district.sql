-- Processing time in working days (the rule book's calendar _cal: the one calendar file,
-- Monday-Friday where it has no data) of applications that entered the window in the
-- 365 days up to as_of, against each district's sla_working_days (policy variant).
CREATE OR REPLACE TABLE bureau_processing_by_district AS
WITH a AS (
    SELECT e.district, a.decided_on, p.sla_working_days AS sla, w1.cum_wd - w0.cum_wd AS wd
    FROM applications a JOIN _employers e USING (uscc) JOIN _policy p ON p.pkey = e.pkey
    JOIN _cal w0 ON w0.day = a.window_submitted_on
    JOIN _cal w1 ON w1.day = coalesce(a.decided_on, as_of())
    WHERE a.window_submitted_on IS NOT NULL AND a.window_submitted_on > as_of() - 365
      AND a.window_submitted_on <= as_of()),
r AS (SELECT code, label_zh, label_en, sort_order FROM _labels WHERE enum = 'district'),
g AS (
    SELECT district, count(*) AS applications, count(decided_on) AS decided,
           count(*) FILTER (WHERE wd <= sla) AS within_sla, count(*) FILTER (WHERE wd > sla) AS over_sla,
           median(wd) AS median_wd, quantile_cont(wd, 0.9) AS p90_wd, avg(wd) AS mean_wd
    FROM a GROUP BY district)
SELECT as_of() AS as_of, r.code AS district, r.label_zh, r.label_en,
       CAST(coalesce(g.applications, 0) AS BIGINT) AS applications,
       CAST(coalesce(g.decided, 0) AS BIGINT) AS decided,
       CAST(coalesce(g.within_sla, 0) AS BIGINT) AS within_sla,
       CAST(coalesce(g.over_sla, 0) AS BIGINT) AS over_sla,
       CASE WHEN g.applications > 0 THEN round(g.within_sla / g.applications, 4) END AS share_within_sla,
       CAST(g.median_wd AS DOUBLE) AS median_wd, CAST(g.p90_wd AS DOUBLE) AS p90_wd,
       round(g.mean_wd, 2) AS mean_wd,
       CAST(coalesce(pd.sla_working_days, p0.sla_working_days) AS INTEGER) AS sla_working_days
FROM r LEFT JOIN g ON g.district = r.code
LEFT JOIN _policy pd ON pd.pkey = r.code
LEFT JOIN _policy p0 ON p0.pkey = '*'
ORDER BY r.sort_order;
