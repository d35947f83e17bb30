CREATE OR REPLACE TABLE bureau_monthly_flow AS
SELECT $as_of AS as_of, (date_trunc('month', $as_of) - INTERVAL (23 - m) MONTH)::DATE AS month,
       strftime((date_trunc('month', $as_of) - INTERVAL (23 - m) MONTH), '%Y-%m') AS month_label,
       ($n // 4 + h(m, 101) % 50)::BIGINT AS new_permits, (h(m, 102) % 9)::BIGINT AS transfers_in,
       ($n // 6 + h(m, 103) % 40)::BIGINT AS renewed, (h(m, 104) % 30)::BIGINT AS cancelled
FROM range(24) t(m)
