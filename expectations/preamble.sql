-- Shared SQL of the rule book: date helpers and per-run helper tables.
-- Everything is TEMP (lives in the rule layer's connection only).
-- Needs before it runs: TEMP TABLE _run(as_of DATE), _policy, _kinds(kind, bit),
-- _cal_file(date, is_workday, kind, source) — created by expectations/engine.py.

-- add_months(d, n): same day n calendar months later, clamped to month end.
-- DuckDB's date + INTERVAL/to_months already clamps (2024-08-31 + 6 months = 2025-02-28).
CREATE OR REPLACE TEMP MACRO add_months(d, n) AS CAST(CAST(d AS DATE) + to_months(CAST(n AS INTEGER)) AS DATE);
CREATE OR REPLACE TEMP MACRO month_start(d) AS CAST(date_trunc('month', CAST(d AS DATE)) AS DATE);
CREATE OR REPLACE TEMP MACRO month_index(d) AS (year(CAST(d AS DATE)) * 12 + month(CAST(d AS DATE)) - 1);
CREATE OR REPLACE TEMP MACRO ym(d) AS strftime(CAST(d AS DATE), '%Y-%m');
-- full years (周岁); a 29 Feb birthday is reached on 1 Mar in common years
CREATE OR REPLACE TEMP MACRO age_years(b, d) AS
    (year(d) - year(b) - CASE WHEN month(d) * 100 + day(d) < month(b) * 100 + day(b) THEN 1 ELSE 0 END);
CREATE OR REPLACE TEMP MACRO id_birth_date(id) AS CAST(try_strptime(substr(id, 7, 8), '%Y%m%d') AS DATE);
CREATE OR REPLACE TEMP MACRO id_gender(id) AS
    CASE TRY_CAST(substr(id, 17, 1) AS INTEGER) % 2 WHEN 1 THEN 'M' WHEN 0 THEN 'F' END;
CREATE OR REPLACE TEMP MACRO mask_id(id) AS
    CASE WHEN id IS NULL THEN NULL WHEN length(id) = 18 THEN substr(id, 1, 6) || '********' || substr(id, 15, 4)
         ELSE repeat('*', length(id)) END;
-- characters after removing all Unicode whitespace (White_Space property, incl. U+3000)
CREATE OR REPLACE TEMP MACRO text_len(s) AS
    length(regexp_replace(coalesce(s, ''), '[\x{9}-\x{d}\x{85}\p{Z}]', '', 'g'));
CREATE OR REPLACE TEMP MACRO is_open(s) AS
    s IN ('draft', 'person_submitted', 'employer_submitted', 'under_review', 'returned');
CREATE OR REPLACE TEMP MACRO as_of() AS (SELECT as_of FROM _run);
CREATE OR REPLACE TEMP MACRO kind_zh(k) AS
    CASE k WHEN 'income_tax' THEN '个人所得税' WHEN 'social_insurance' THEN '社会保险' ELSE k END;
CREATE OR REPLACE TEMP MACRO kind_en(k) AS
    CASE k WHEN 'income_tax' THEN 'income tax' WHEN 'social_insurance' THEN 'social insurance' ELSE k END;
CREATE OR REPLACE TEMP MACRO dstr(d) AS coalesce(strftime(CAST(d AS DATE), '%Y-%m-%d'), '—');

-- employers with the policy variant that applies to them (their district's, else defaults)
CREATE OR REPLACE TEMP TABLE _employers AS
SELECT e.*, coalesce(p.pkey, '*') AS pkey
FROM employers e LEFT JOIN _policy p ON p.pkey = e.district;

-- every application with d (submitted_on, else as_of), open flag and policy variant
CREATE OR REPLACE TEMP TABLE _apps AS
SELECT a.*, coalesce(a.submitted_on, as_of()) AS d, is_open(a.status) AS is_open,
       coalesce(e.pkey, '*') AS pkey
FROM applications a LEFT JOIN _employers e ON e.uscc = a.uscc;

CREATE OR REPLACE TEMP TABLE _active_permits AS SELECT * FROM permits WHERE status = 'active';
CREATE OR REPLACE TEMP TABLE _active_count AS
SELECT uscc, count(*) AS active_permits FROM _active_permits GROUP BY uscc;

-- contributions, aggregated once: per person and kind set (policy mask), the runs
-- ("islands") of consecutive covered months. Month m is covered for mask K when the
-- person has a row of every kind of K for m (any withholder, amount 0 counts).
CREATE OR REPLACE TEMP TABLE _cov AS
WITH pm AS (
    SELECT c.id_number, month_index(c.month) AS mi, bit_or(k.bit) AS mask
    FROM contributions c JOIN _kinds k ON k.kind = c.kind
    GROUP BY c.id_number, c.month),
masks AS (SELECT DISTINCT kinds_mask FROM _policy),
cm AS (
    SELECT pm.id_number, m.kinds_mask AS kmask, pm.mi
    FROM pm, masks m WHERE (pm.mask & m.kinds_mask) = m.kinds_mask)
SELECT id_number, kmask, min(mi) AS start_mi, max(mi) AS end_mi
FROM (SELECT *, mi - row_number() OVER (PARTITION BY id_number, kmask ORDER BY mi) AS grp FROM cm)
GROUP BY id_number, kmask, grp;

-- true when every month lo..hi is covered (an empty window is covered)
CREATE OR REPLACE TEMP MACRO months_covered(p_id, p_mask, p_lo, p_hi) AS
    (month_index(p_lo) > month_index(p_hi) OR EXISTS (
        SELECT 1 FROM _cov c WHERE c.id_number = p_id AND c.kmask = p_mask
          AND c.start_mi <= month_index(p_lo) AND c.end_mi >= month_index(p_hi)));

-- the months lo..hi with the kinds missing in each: [{month: 'YYYY-MM', kinds: [...]}]
-- (use only on rows that fail months_covered: it reads the contributions table)
CREATE OR REPLACE TEMP MACRO missing_contrib(p_id, p_lo, p_hi, p_kinds) AS (
    SELECT coalesce(list({'month': ym(g.m), 'kinds': g.ks} ORDER BY g.m), [])
    FROM (SELECT x.m, list(x.k ORDER BY x.k) AS ks
          FROM (SELECT CAST(ms.m AS DATE) AS m, ks.k
                FROM (SELECT unnest(generate_series(CAST(p_lo AS TIMESTAMP), CAST(p_hi AS TIMESTAMP), INTERVAL 1 MONTH)) AS m) ms,
                     (SELECT unnest(p_kinds) AS k) ks) x
          WHERE NOT EXISTS (SELECT 1 FROM contributions c
                            WHERE c.id_number = p_id AND c.month = x.m AND c.kind = x.k)
          GROUP BY x.m) g);
CREATE OR REPLACE TEMP MACRO missing_text_zh(l) AS
    array_to_string(list_transform(l, lambda x: x.month || '(' || array_to_string(list_transform(x.kinds, lambda k: kind_zh(k)), '、') || ')'), ',');
CREATE OR REPLACE TEMP MACRO missing_text_en(l) AS
    array_to_string(list_transform(l, lambda x: x.month || ' (' || array_to_string(list_transform(x.kinds, lambda k: kind_en(k)), ', ') || ')'), '; ');

-- working-day calendar over every day the run can ask about: the official calendar
-- file where it has the day, else Monday–Friday (fallback, recorded per day).
CREATE OR REPLACE TEMP TABLE _cal AS
WITH b AS (
    SELECT least(min(window_submitted_on), min(decided_on), as_of()) AS lo,
           greatest(max(coalesce(decided_on, as_of())), as_of()) AS hi
    FROM applications),
days AS (SELECT CAST(unnest(generate_series(CAST(lo - 1 AS TIMESTAMP), CAST(hi AS TIMESTAMP), INTERVAL 1 DAY)) AS DATE) AS day FROM b),
j AS (SELECT d.day, coalesce(f.is_workday, isodow(d.day) <= 5) AS is_workday, f.date IS NULL AS fallback
      FROM days d LEFT JOIN _cal_file f ON f.date = d.day)
SELECT day, is_workday, fallback,
       sum(CAST(is_workday AS INTEGER)) OVER (ORDER BY day) AS cum_wd,
       sum(CAST(fallback AS INTEGER)) OVER (ORDER BY day) AS cum_fb
FROM j;
CREATE OR REPLACE TEMP TABLE _cal_years AS SELECT DISTINCT year(date) AS y FROM _cal_file;
