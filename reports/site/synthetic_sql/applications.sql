CREATE OR REPLACE TABLE applications AS
SELECT 'A' || lpad(CAST(x AS VARCHAR), 9, '0') AS application_id, uscc_of(x // 5 % $n) AS uscc,
       pid(x + 10000000) AS id_number,
       pick(['new', 'renewal', 'reissue', 'cancellation'], x, 41) AS type,
       pick(['draft', 'person_submitted', 'employer_submitted', 'under_review', 'returned', 'approved',
             'approved', 'approved', 'rejected'], x, 42) AS status
FROM range($n * 5) t(x)
