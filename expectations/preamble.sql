-- Shared SQL of the rule book: date helpers and per-run helper tables.
-- Everything is TEMP (lives in the rule layer's connection only).
-- Needs before it runs: TEMP TABLE _run(as_of DATE), _policy, _kinds(kind, bit),
-- _cal_file(date, is_workday, kind, source) — created by expectations/engine.py.

-- add_months(d, n) and mask_id(id) come from core/ (core.sql.create_macros, run before this file).
CREATE OR REPLACE TEMP MACRO month_start(d) AS CAST(date_trunc('month', CAST(d AS DATE)) AS DATE);
CREATE OR REPLACE TEMP MACRO month_index(d) AS (year(CAST(d AS DATE)) * 12 + month(CAST(d AS DATE)) - 1);
CREATE OR REPLACE TEMP MACRO ym(d) AS strftime(CAST(d AS DATE), '%Y-%m');
-- full years (周岁); a 29 Feb birthday is reached on 1 Mar in common years
CREATE OR REPLACE TEMP MACRO age_years(b, d) AS
    (year(d) - year(b) - CASE WHEN month(d) * 100 + day(d) < month(b) * 100 + day(b) THEN 1 ELSE 0 END);
CREATE OR REPLACE TEMP MACRO id_birth_date(id) AS CAST(try_strptime(substr(id, 7, 8), '%Y%m%d') AS DATE);
CREATE OR REPLACE TEMP MACRO id_gender(id) AS
    CASE TRY_CAST(substr(id, 17, 1) AS INTEGER) % 2 WHEN 1 THEN 'M' WHEN 0 THEN 'F' END;
-- characters after removing all Unicode whitespace (White_Space property, incl. U+3000)
CREATE OR REPLACE TEMP MACRO text_len(s) AS
    length(regexp_replace(coalesce(s, ''), '[\x{9}-\x{d}\x{85}\p{Z}]', '', 'g'));
CREATE OR REPLACE TEMP MACRO is_open(s) AS
    s IN ('draft', 'person_submitted', 'employer_submitted', 'under_review', 'returned');
CREATE OR REPLACE TEMP MACRO as_of() AS getvariable('as_of');
CREATE OR REPLACE TEMP MACRO kind_zh(k) AS
    CASE k WHEN 'income_tax' THEN '个人所得税' WHEN 'social_insurance' THEN '社会保险' ELSE k END;
CREATE OR REPLACE TEMP MACRO kind_en(k) AS
    CASE k WHEN 'income_tax' THEN 'income tax' WHEN 'social_insurance' THEN 'social insurance' ELSE k END;
CREATE OR REPLACE TEMP MACRO dstr(d) AS coalesce(strftime(CAST(d AS DATE), '%Y-%m-%d'), '—');

-- employers with the policy variant that applies to them (their district's, else defaults)
CREATE OR REPLACE TEMP TABLE _employers AS
SELECT e.*, coalesce(p.pkey, '*') AS pkey
FROM employers e LEFT JOIN _policy p ON p.pkey = e.district;

-- every application with d (submitted_on, else as_of), open flag and policy variant;
-- apps_of(t) derives them from any applications-shaped table t (the candidates' hypothetical
-- applications go through this same definition: expectations/candidates.py)
CREATE OR REPLACE TEMP MACRO apps_of(t) AS TABLE
SELECT a.*, coalesce(a.submitted_on, as_of()) AS d, is_open(a.status) AS is_open,
       coalesce(e.pkey, '*') AS pkey
FROM query_table(t) a LEFT JOIN _employers e ON e.uscc = a.uscc;
CREATE OR REPLACE TEMP TABLE _apps AS SELECT * FROM apps_of('applications');

CREATE OR REPLACE TEMP TABLE _active_permits AS SELECT * FROM permits WHERE status = 'active';
CREATE OR REPLACE TEMP TABLE _active_count AS
SELECT uscc, count(*) AS active_permits FROM _active_permits GROUP BY uscc;

-- active permits with their policy variant, renewal window W0 = add_months(expires_on, -1),
-- W1 = add_months(expires_on, 1), and whether a renewal is "in hand" (a renewal application
-- for the permit, open or approved, submitted on or after W0)
CREATE OR REPLACE TEMP TABLE _permits_x AS
-- (an empty submitted_on is not "submitted": a draft renewal without a date is not in hand);
-- renewal_application_id = the latest such application (submitted_on, then application_id)
WITH inhand AS (
    SELECT a.permit_no, arg_max(a.application_id, (a.submitted_on, a.application_id)) AS renewal_application_id
    FROM applications a JOIN _active_permits pm ON pm.permit_no = a.permit_no
    WHERE a.type = 'renewal' AND (is_open(a.status) OR a.status = 'approved')
      AND a.submitted_on >= add_months(pm.expires_on, -1)
    GROUP BY a.permit_no)
SELECT pm.*, coalesce(e.pkey, '*') AS pkey, add_months(pm.expires_on, -1) AS w0, add_months(pm.expires_on, 1) AS w1,
       ih.permit_no IS NOT NULL AS renewal_in_hand, ih.renewal_application_id
FROM _active_permits pm LEFT JOIN _employers e ON e.uscc = pm.uscc LEFT JOIN inhand ih ON ih.permit_no = pm.permit_no;

-- the employer a dependent finding belongs to: the holder's active permit (latest
-- issued_on, then permit_no), else the holder's open application with the latest d
CREATE OR REPLACE TEMP TABLE _holder_route AS
WITH hp AS (SELECT id_number, arg_max(uscc, (issued_on, permit_no)) AS uscc,
                   arg_max(permit_no, (issued_on, permit_no)) AS permit_no
            FROM _active_permits GROUP BY id_number),
ha AS (SELECT id_number, arg_max(uscc, (d, application_id)) AS uscc,
              arg_max(application_id, (d, application_id)) AS application_id
       FROM _apps WHERE is_open GROUP BY id_number)
SELECT coalesce(hp.id_number, ha.id_number) AS holder_id_number, coalesce(hp.uscc, ha.uscc) AS uscc,
       hp.permit_no AS holder_permit_no, ha.application_id AS holder_application_id,
       hp.id_number IS NOT NULL AS has_active_permit, ha.id_number IS NOT NULL AS has_open_application
FROM hp FULL OUTER JOIN ha ON ha.id_number = hp.id_number;

-- contributions, aggregated once (one group-by over the big table): per person and
-- kind a bit string over the months cov_min .. cov_max (variables set by the engine;
-- character i = month cov_min + i - 1, '1' = a row of that kind exists, amount 0 counts).
CREATE OR REPLACE TEMP TABLE _cov_kind AS
SELECT c.id_number, c.kind,
       bitstring_agg(month_index(c.month), getvariable('cov_min'), getvariable('cov_max')) AS b
FROM contributions c
WHERE c.month IS NOT NULL AND c.kind IN (SELECT kind FROM _kinds)
GROUP BY c.id_number, c.kind;
-- month m is covered for kind set K (a policy's contribution_kinds, as bit mask kmask)
-- when every kind of K has a row for m: the AND of the kinds' bit strings (bits).
CREATE OR REPLACE TEMP TABLE _cov AS
WITH masks AS (SELECT DISTINCT kinds_mask FROM _policy)
SELECT ck.id_number, m.kinds_mask AS kmask, CAST(bit_and(ck.b) AS VARCHAR) AS bits
FROM _cov_kind ck JOIN _kinds k ON k.kind = ck.kind JOIN masks m ON (k.bit & m.kinds_mask) <> 0
GROUP BY ck.id_number, m.kinds_mask
HAVING count(*) = bit_count(m.kinds_mask);

-- true when every month lo..hi is covered according to a _cov.bits string (NULL bits =
-- no contributions of some kind at all); an empty window is covered.
-- Rules join _cov on (id_number, kmask) and call this per row.
CREATE OR REPLACE TEMP MACRO window_covered(p_bits, p_lo, p_hi) AS
    (month_index(p_lo) > month_index(p_hi) OR coalesce(
        month_index(p_lo) >= getvariable('cov_min') AND month_index(p_hi) <= getvariable('cov_max')
        AND NOT contains(substr(p_bits, month_index(p_lo) - getvariable('cov_min') + 1,
                                month_index(p_hi) - month_index(p_lo) + 1), '0'), false));

CREATE OR REPLACE TEMP MACRO month_missing(p_bits, p_mi) AS
    (p_bits IS NULL OR p_mi < getvariable('cov_min') OR p_mi > getvariable('cov_max')
     OR substr(p_bits, CAST(p_mi - getvariable('cov_min') + 1 AS BIGINT), 1) <> '1');
-- set-based missing-months detail for a relation (a CTE name passed as a string) with
-- columns k (entity key), id_number, lo, hi (window dates), contribution_kinds:
-- returns k, missing [{month, kinds}] and ranges [{from, to, months, kinds}] (runs of
-- consecutive months missing the same kinds). Use on the failing rows only.
CREATE OR REPLACE TEMP MACRO contrib_missing(t) AS TABLE
WITH src AS (SELECT k, id_number, lo, hi, contribution_kinds FROM query_table(t)),
cells AS (
    SELECT s.k, r.mi, kk.kind
    FROM src s,
         LATERAL (SELECT unnest(range(month_index(s.lo), month_index(s.hi) + 1)) AS mi) r,
         LATERAL (SELECT unnest(s.contribution_kinds) AS kind) kk),
kbu AS (SELECT s.k, ck.kind, CAST(ck.b AS VARCHAR) AS bits
        FROM src s JOIN _cov_kind ck ON ck.id_number = s.id_number),
miss AS (
    SELECT c.k, c.mi, list(c.kind ORDER BY c.kind) AS kinds
    FROM cells c LEFT JOIN kbu b ON b.k = c.k AND b.kind = c.kind
    WHERE month_missing(b.bits, c.mi)
    GROUP BY c.k, c.mi),
runs AS (
    SELECT k, kinds, min(mi) AS m0, max(mi) AS m1, count(*) AS n
    FROM (SELECT *, mi - row_number() OVER (PARTITION BY k, kinds ORDER BY mi) AS grp FROM miss)
    GROUP BY k, kinds, grp),
months AS (
    SELECT k, list({'month': ym(make_date(CAST(mi // 12 AS INTEGER), CAST(mi % 12 + 1 AS INTEGER), 1)),
                    'kinds': kinds} ORDER BY mi) AS missing
    FROM miss GROUP BY k),
rng AS (
    SELECT k, list({'from': ym(make_date(CAST(m0 // 12 AS INTEGER), CAST(m0 % 12 + 1 AS INTEGER), 1)),
                    'to': ym(make_date(CAST(m1 // 12 AS INTEGER), CAST(m1 % 12 + 1 AS INTEGER), 1)),
                    'months': n, 'kinds': kinds} ORDER BY m0) AS ranges
    FROM runs GROUP BY k)
SELECT s.k, coalesce(m.missing, []) AS missing, coalesce(r.ranges, []) AS ranges
FROM src s LEFT JOIN months m ON m.k = s.k LEFT JOIN rng r ON r.k = s.k;

CREATE OR REPLACE TEMP MACRO missing_text_zh(r) AS
    array_to_string(list_transform(r, lambda x: CASE WHEN x.from = x.to THEN x.from ELSE x.from || '至' || x.to END
        || '(' || array_to_string(list_transform(x.kinds, lambda k: kind_zh(k)), '、') || ')'), ',');
CREATE OR REPLACE TEMP MACRO missing_text_en(r) AS
    array_to_string(list_transform(r, lambda x: CASE WHEN x.from = x.to THEN x.from ELSE x.from || ' to ' || x.to END
        || ' (' || array_to_string(list_transform(x.kinds, lambda k: kind_en(k)), ', ') || ')'), '; ');

-- working-day calendar over every day the run can ask about: the official calendar
-- file where it has the day, else Monday–Friday (fallback, recorded per day).
CREATE OR REPLACE TEMP TABLE _cal AS
WITH b AS (
    SELECT least(min(window_submitted_on), min(decided_on), as_of()) AS lo,
           greatest(max(coalesce(decided_on, as_of())), max(window_submitted_on), as_of()) AS hi
    FROM applications),
days AS (SELECT CAST(unnest(generate_series(CAST(lo - 1 AS TIMESTAMP), CAST(hi AS TIMESTAMP), INTERVAL 1 DAY)) AS DATE) AS day FROM b),
j AS (SELECT d.day, coalesce(f.is_workday, isodow(d.day) <= 5) AS is_workday, f.date IS NULL AS fallback
      FROM days d LEFT JOIN _cal_file f ON f.date = d.day)
SELECT day, is_workday, fallback,
       sum(CAST(is_workday AS INTEGER)) OVER (ORDER BY day) AS cum_wd,
       sum(CAST(fallback AS INTEGER)) OVER (ORDER BY day) AS cum_fb
FROM j;
CREATE OR REPLACE TEMP TABLE _cal_years AS SELECT DISTINCT year(date) AS y FROM _cal_file;
