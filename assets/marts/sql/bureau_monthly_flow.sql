-- New / transferred-in / renewed (approved applications by decision month) and cancelled
-- permits per month over the 24 months up to as_of.
CREATE OR REPLACE TABLE bureau_monthly_flow AS
WITH months AS (
    SELECT CAST(unnest(generate_series(add_months(month_start(as_of()), -23), month_start(as_of()),
                                       INTERVAL 1 MONTH)) AS DATE) AS month),
ap AS (
    SELECT month_start(decided_on) AS month,
           count(*) FILTER (WHERE type = 'new') AS new_permits,
           count(*) FILTER (WHERE type = 'employer_change') AS transfers_in,
           count(*) FILTER (WHERE type = 'renewal') AS renewed
    FROM applications WHERE status = 'approved' AND decided_on <= as_of() GROUP BY 1),
ca AS (SELECT month_start(cancelled_on) AS month, count(*) AS cancelled FROM permits
       WHERE cancelled_on IS NOT NULL AND cancelled_on <= as_of() GROUP BY 1)
SELECT as_of() AS as_of, months.month, strftime(months.month, '%Y-%m') AS month_label,
       CAST(coalesce(ap.new_permits, 0) AS BIGINT) AS new_permits,
       CAST(coalesce(ap.transfers_in, 0) AS BIGINT) AS transfers_in,
       CAST(coalesce(ap.renewed, 0) AS BIGINT) AS renewed,
       CAST(coalesce(ca.cancelled, 0) AS BIGINT) AS cancelled
FROM months LEFT JOIN ap USING (month) LEFT JOIN ca USING (month) ORDER BY months.month;
