-- permits: ~8 per employer
CREATE OR REPLACE TABLE permit_status AS
SELECT $as_of AS as_of, 'BJ' || lpad(CAST(p AS VARCHAR), 9, '0') AS permit_no, pid(p) AS id_number,
       mask_id(pid(p)) AS id_number_masked,
       pname(p) AS holder_name, uscc_of(p // 8 % $n) AS uscc,
       CASE WHEN h(p, 31) % 10 < 8 THEN 'active' ELSE 'cancelled' END AS status,
       $as_of - INTERVAL (h(p, 32) % 1000) DAY AS issued_on,
       ($as_of + INTERVAL (h(p, 33) % 400 - 30) DAY)::DATE AS expires_on
FROM range($n * 8) t(p)
