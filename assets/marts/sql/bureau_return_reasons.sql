-- Return reasons of applications (all time and the last 365 days).
CREATE OR REPLACE TABLE bureau_return_reasons AS
SELECT as_of() AS as_of, trim(return_reason) AS return_reason, count(*) AS applications,
       count(*) FILTER (WHERE coalesce(decided_on, employer_submitted_on, submitted_on) > as_of() - 365)
           AS applications_12m
FROM applications WHERE return_reason IS NOT NULL AND trim(return_reason) <> ''
  AND coalesce(decided_on, employer_submitted_on, submitted_on, as_of()) <= as_of()
GROUP BY trim(return_reason) ORDER BY applications DESC, return_reason;
