-- Shared SQL of the rule book: date helpers and per-run helper tables.
-- Everything is TEMP (lives in the rule layer's connection only).
-- Needs before it runs: TEMP TABLE _run(as_of DATE), _policy, _kinds(kind, bit),
-- _cal_file(date, is_workday, kind, source) — created by expectations/engine.py.

-- add_months(d, n) and mask_id(id) come from core/ (core.sql.create_macros, run before this file).
CREATE OR REPLACE TEMP MACRO month_start(d) AS CAST(date_trunc('month', CAST(d AS DATE)) AS DATE);
CREATE OR REPLACE TEMP MACRO month_index(d) AS (year(CAST(d AS DATE)) * 12 + month(CAST(d AS DATE)) - 1);
-- the first day of the month with month_index p_mi
CREATE OR REPLACE TEMP MACRO month_of_index(p_mi) AS
    make_date(CAST(p_mi // 12 AS INTEGER), CAST(p_mi % 12 + 1 AS INTEGER), 1);
CREATE OR REPLACE TEMP MACRO ym(d) AS strftime(CAST(d AS DATE), '%Y-%m');
-- full years (周岁); a 29 Feb birthday is reached on 1 Mar in common years
CREATE OR REPLACE TEMP MACRO age_years(b, d) AS
    (year(d) - year(b) - CASE WHEN month(d) * 100 + day(d) < month(b) * 100 + day(b) THEN 1 ELSE 0 END);
CREATE OR REPLACE TEMP MACRO id_birth_date(id) AS CAST(try_strptime(substr(id, 7, 8), '%Y%m%d') AS DATE);
CREATE OR REPLACE TEMP MACRO id_gender(id) AS
    CASE TRY_CAST(substr(id, 17, 1) AS INTEGER) % 2 WHEN 1 THEN 'M' WHEN 0 THEN 'F' END;
-- (v2) a person's birth date and gender, the one place (data-contract.md, persons): from the ID
-- number for the 18-character document types, from the persons table's birth_date / gender
-- columns for passports. Used by _persons_x (rule_tables.sql) and the marts.
CREATE OR REPLACE TEMP MACRO person_birth_on(t, id, b) AS
    CASE WHEN coalesce(t, 'resident_id') = 'passport' THEN b ELSE id_birth_date(id) END;
CREATE OR REPLACE TEMP MACRO person_sex(t, id, g) AS
    CASE WHEN coalesce(t, 'resident_id') = 'passport' THEN g ELSE id_gender(id) END;
-- s holds a character of the Unicode White_Space property (\x{9}-\x{d}, \x{85}, \p{Z}; the
-- 25 code points named one by one: 25 substring tests cost a quarter of one regexp_matches
-- over the same text — 0.16 against 0.64 s for 350,000 achievement texts at city scale)
CREATE OR REPLACE TEMP MACRO has_white_space(s) AS
    (contains(s, chr(9)) OR contains(s, chr(10)) OR contains(s, chr(11)) OR contains(s, chr(12)) OR
     contains(s, chr(13)) OR contains(s, chr(32)) OR contains(s, chr(133)) OR
     contains(s, chr(160)) OR contains(s, chr(5760)) OR contains(s, chr(8192)) OR
     contains(s, chr(8193)) OR contains(s, chr(8194)) OR contains(s, chr(8195)) OR
     contains(s, chr(8196)) OR contains(s, chr(8197)) OR contains(s, chr(8198)) OR
     contains(s, chr(8199)) OR contains(s, chr(8200)) OR contains(s, chr(8201)) OR
     contains(s, chr(8202)) OR contains(s, chr(8232)) OR contains(s, chr(8233)) OR
     contains(s, chr(8239)) OR contains(s, chr(8287)) OR contains(s, chr(12288)));
-- s without its White_Space characters (the same set as a regular expression class;
-- tests/test_rules_dates.py checks the two agree on every code point)
CREATE OR REPLACE TEMP MACRO strip_white_space(s) AS regexp_replace(s, '[\x{9}-\x{d}\x{85}\p{Z}]', '', 'g');
-- characters after removing all Unicode whitespace (White_Space property, incl. U+3000)
-- (the replace only where there is white space: a test is cheaper than a rewrite)
CREATE OR REPLACE TEMP MACRO text_len(s) AS
    CASE WHEN has_white_space(coalesce(s, '')) THEN length(strip_white_space(coalesce(s, '')))
         ELSE length(coalesce(s, '')) END;
-- (v2) a name compared as the spec says: NFKC-normalised, all whitespace removed. The ingest
-- layer already NFKC-normalises every text value; this maps full-width ASCII forms
-- (U+FF01..U+FF5E, e.g. （）) again for tables filled by other means, and drops whitespace.
-- Only names with such characters are rewritten (a match test costs a tenth of the
-- translate with its 94-character map: 0.016 against 0.2 s for the 50,000 city employers).
CREATE OR REPLACE TEMP MACRO name_key(s) AS
    CASE WHEN has_white_space(s) OR regexp_matches(s, '[\x{ff01}-\x{ff5e}]') THEN
    nullif(strip_white_space(translate(s, '！＂＃＄％＆＇（）＊＋，－．／０１２３４５６７８９：；＜＝＞？＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～', '!"#$%&''()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~')), '')
    ELSE nullif(s, '') END;
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

-- active permits with their policy variant, renewal window W0 = add_months(expires_on, -R),
-- W1 = add_months(expires_on, R) (R = [renewal_window_months] of the employer's policy), and
-- whether a renewal is "in hand" (a renewal application for the permit, open or approved,
-- submitted on or after W0)
CREATE OR REPLACE TEMP TABLE _permits_x AS
-- (an empty submitted_on is not "submitted": a draft renewal without a date is not in hand);
-- renewal_application_id = the latest such application (submitted_on, then application_id)
WITH pw AS (
    SELECT pm.*, coalesce(e.pkey, '*') AS pkey,
           add_months(pm.expires_on, -p.renewal_window_months) AS w0,
           add_months(pm.expires_on, p.renewal_window_months) AS w1
    FROM _active_permits pm LEFT JOIN _employers e ON e.uscc = pm.uscc
         JOIN _policy p ON p.pkey = coalesce(e.pkey, '*')),
inhand AS (
    SELECT a.permit_no, arg_max(a.application_id, (a.submitted_on, a.application_id)) AS renewal_application_id
    FROM applications a JOIN pw ON pw.permit_no = a.permit_no
    WHERE a.type = 'renewal' AND (is_open(a.status) OR a.status = 'approved') AND a.submitted_on >= pw.w0
    GROUP BY a.permit_no)
SELECT pw.*, ih.permit_no IS NOT NULL AS renewal_in_hand, ih.renewal_application_id
FROM pw LEFT JOIN inhand ih ON ih.permit_no = pw.permit_no;

-- (v2) _persons_x (birth date and gender of every person): rule_tables.sql, with the coverage

-- (v2) which employer owns an XFER-DEFERRAL-* finding: the holder's newest employments
-- row without left_on whose uscc differs from the permit's (newest = latest hired_on, then
-- uscc); the permit's uscc when there is none
CREATE OR REPLACE TEMP TABLE _deferrals AS
WITH newer AS (
    SELECT pm.permit_no, arg_max(m.uscc, (m.hired_on, m.uscc)) AS new_uscc
    FROM permits pm JOIN employments m ON m.id_number = pm.id_number AND m.left_on IS NULL AND m.uscc <> pm.uscc
    WHERE pm.status = 'deferred_cancellation'
    GROUP BY pm.permit_no)
SELECT pm.*, coalesce(n.new_uscc, pm.uscc) AS owner_uscc, n.new_uscc, coalesce(e.pkey, '*') AS pkey
FROM permits pm LEFT JOIN newer n ON n.permit_no = pm.permit_no LEFT JOIN _employers e ON e.uscc = pm.uscc
WHERE pm.status = 'deferred_cancellation';

-- (v2) waivers in force at as_of (rules.md § Waivers), with the detail.waiver JSON
CREATE OR REPLACE TEMP TABLE _waivers_in_force AS
SELECT w.*, CAST(to_json({'waiver': {'reason': w.reason, 'approved_by': w.approved_by,
                                     'approved_on': dstr(w.approved_on),
                                     'expires_on': CAST(w.expires_on AS VARCHAR)}}) AS VARCHAR) AS waiver_json
FROM waivers w
WHERE w.approved_on <= as_of() AND (w.expires_on IS NULL OR w.expires_on >= as_of());

-- (v2) employers' names in the compared form, computed once (name_key is not free)
CREATE OR REPLACE TEMP TABLE _employer_keys AS SELECT uscc, name_key(name) AS ekey FROM employers;

-- (v2) registered withholding agents with the compared form of their name
CREATE OR REPLACE TEMP TABLE _agents AS
SELECT g.*, name_key(g.agent_name) AS agent_key FROM withholding_agents g;

-- (v2) contributions per person, kind and withholder (uscc, name): the months it withheld, as
-- a bit string over cov_min .. cov_max like _cov_kind (filled by rule_tables.sql with one
-- group-by over the big table, from which _cov_kind is derived; created empty here because
-- withholder_bad binds to it). wkey = name_key(wn) of the rows without a withholder_uscc.
CREATE OR REPLACE TEMP TABLE _wh_bits (id_number VARCHAR, kind VARCHAR, wu VARCHAR, wn VARCHAR, wkey VARCHAR, b BIT,
                                       i_first INTEGER, i_last INTEGER);

-- a bit string over cov_min .. cov_max with the months (month_index) p_i0 .. p_i1 set
CREATE OR REPLACE TEMP MACRO month_mask(p_i0, p_i1) AS CAST(
    CASE WHEN greatest(p_i0, getvariable('cov_min')) > least(p_i1, getvariable('cov_max'))
         THEN repeat('0', getvariable('cov_max') - getvariable('cov_min') + 1)
         ELSE repeat('0', greatest(p_i0, getvariable('cov_min')) - getvariable('cov_min'))
              || repeat('1', least(p_i1, getvariable('cov_max')) - greatest(p_i0, getvariable('cov_min')) + 1)
              || repeat('0', getvariable('cov_max') - least(p_i1, getvariable('cov_max'))) END AS BIT);

-- (v2) proper withholders (rules.md § Definitions). w: relation (k, id_number, lo, hi) —
-- the contribution rows of id_number in months lo..hi are judged for entity k; em:
-- relation (k, uscc, lo, hi) — the employers a row of k may be properly withheld for, each
-- in months lo..hi (for one employer over the whole window, em = w). A row is proper for
-- employer e in month m when its withholder_uscc is e's uscc, or the agent_uscc of an agent
-- of e valid in m for the row's kind; when the row's withholder_uscc is empty, when its name
-- (name_key) is e's name or that agent's.
-- Returns, per k with a month/kind that has rows but none proper: bad = [{month, kind,
-- withholders}] (the withholder names, else codes, found in that month/kind).
-- Worked on _wh_bits (a few rows per person and kind, not one per month): a withholder row
-- that an employer of the window matches over the whole window is proper in every month
-- (most rows); for the windows and kinds with other rows ("rest"), the months with rows of
-- those minus the months proper by any row (a matching employer or agent, each masked to
-- the months it is valid) are bad; only the few bad cells are expanded into months.
-- Months compare by month_index: contribution months and agents' valid_from / valid_to are
-- first days of months (data contract: kind month).
CREATE OR REPLACE TEMP MACRO withholder_bad(w, em) AS TABLE
WITH win AS (SELECT k, id_number, month_index(lo) AS i0, month_index(hi) AS i1 FROM query_table(w)),
-- only the withholder rows with a month in the window: the others' months are masked out of
-- badb, add only months outside the window to ok and match no bad cell (cells lie in the
-- window), so leaving them out changes nothing — but they are many (a holder's earlier
-- employers: 147 k of the 1.1 M rows of NC-WITHHOLDER at city would otherwise be "rest")
g AS (
    SELECT w.k, w.i0, w.i1, x.rowid AS r, x.kind, x.wu, x.wn, x.wkey, x.b
    FROM win w JOIN _wh_bits x ON x.id_number = w.id_number AND x.i_last >= w.i0 AND x.i_first <= w.i1
    WHERE w.i0 <= w.i1 AND w.i0 <= getvariable('cov_max') AND w.i1 >= getvariable('cov_min')),
emp AS (SELECT e.k, e.uscc, month_index(e.lo) AS i0, month_index(e.hi) AS i1, er.ekey
        FROM query_table(em) e LEFT JOIN _employer_keys er ON er.uscc = e.uscc
        WHERE e.lo IS NOT NULL AND e.hi IS NOT NULL),
-- rows an employer of the window matches over the whole window are proper in every month;
-- the others ("rest"): two anti joins on equal keys (uscc; name when there is no uscc)
rest AS (
    SELECT g.* FROM g
    ANTI JOIN emp e ON e.k = g.k AND e.uscc = g.wu AND e.i0 <= g.i0 AND e.i1 >= g.i1
    ANTI JOIN emp n ON n.k = g.k AND n.ekey = g.wkey AND g.wu IS NULL AND n.i0 <= g.i0 AND n.i1 >= g.i1),
rest_kinds AS (SELECT DISTINCT k, kind FROM rest),
ok AS (
    -- rows proper throughout the window, of the windows and kinds with other rows
    SELECT g.k, g.kind, g.b
    FROM g SEMI JOIN rest_kinds rk ON rk.k = g.k AND rk.kind = g.kind
         ANTI JOIN rest r ON r.k = g.k AND r.r = g.r
    UNION ALL
    -- the other rows, in the months an employer they match is valid
    SELECT r.k, r.kind, r.b & month_mask(e.i0, e.i1)
    FROM rest r JOIN emp e ON e.k = r.k
    WHERE r.wu = e.uscc OR (r.wu IS NULL AND r.wkey = e.ekey)
    UNION ALL
    -- or an agent of such an employer is
    SELECT r.k, r.kind, r.b & month_mask(greatest(e.i0, coalesce(month_index(e.valid_from), e.i0)),
                                         least(e.i1, coalesce(month_index(e.valid_to), e.i1)))
    FROM rest r JOIN (SELECT e.*, a.valid_from, a.valid_to, a.kind AS akind, a.agent_uscc, a.agent_key
                      FROM emp e JOIN _agents a ON a.uscc = e.uscc) e ON e.k = r.k
    WHERE (e.akind IS NULL OR e.akind = r.kind)
      AND ((r.wu IS NOT NULL AND e.agent_uscc = r.wu) OR (r.wu IS NULL AND r.wkey = e.agent_key))),
has AS (SELECT k, kind, any_value(i0) AS i0, any_value(i1) AS i1, bit_or(b) AS b FROM rest GROUP BY k, kind),
okb AS (SELECT k, kind, bit_or(b) AS b FROM ok GROUP BY k, kind),
badb AS (
    SELECT h.k, h.kind, (CASE WHEN o.b IS NULL THEN h.b ELSE h.b & ~o.b END) & month_mask(h.i0, h.i1) AS b
    FROM has h LEFT JOIN okb o ON o.k = h.k AND o.kind = h.kind),
cells AS (
    SELECT k, kind, i
    FROM (SELECT k, kind, b, CAST(unnest(range(0, bit_length(b))) AS INTEGER) AS i FROM badb WHERE bit_count(b) > 0)
    WHERE get_bit(b, i) = 1),
named AS (
    SELECT c.k, month_of_index(getvariable('cov_min') + c.i) AS month, c.kind,
           list_sort(list_distinct(list(coalesce(g.wn, g.wu, '—')))) AS withholders
    FROM cells c JOIN g ON g.k = c.k AND g.kind = c.kind AND get_bit(g.b, c.i) = 1
    GROUP BY c.k, c.i, c.kind)
-- (sorted lists rather than ordered aggregates, which sort per group: the same lists — a
-- cell's (month, kind) is unique, and 'YYYY-MM' sorts as the months do — for 0.2 s less CPU on
-- the candidates' 134,000 cells at city scale)
SELECT k, list_sort(list({'month': ym(month), 'kind': kind, 'withholders': withholders})) AS bad
FROM named GROUP BY k;

CREATE OR REPLACE TEMP MACRO withholder_text_zh(b) AS
    array_to_string(list_transform(b, lambda x: x.month || ' ' || kind_zh(x.kind) || ':'
        || array_to_string(x.withholders, '、')), ';');
CREATE OR REPLACE TEMP MACRO withholder_text_en(b) AS
    array_to_string(list_transform(b, lambda x: x.month || ' ' || kind_en(x.kind) || ': '
        || array_to_string(x.withholders, ', ')), '; ');
-- money in 万元 for messages (1000000 -> '100', 995000 -> '99.5')
CREATE OR REPLACE TEMP MACRO wan(x) AS
    CASE WHEN x IS NULL THEN NULL ELSE regexp_replace(regexp_replace(printf('%.4f', CAST(x AS DOUBLE) / 10000),
        '0+$', ''), '\.$', '') END;

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

-- contributions per person and kind (_cov_kind) and per policy kind set (_cov): filled by
-- rule_tables.sql (engine.prepare_rule_tables, one group-by over the big table); created empty
-- here because the macros below bind to them; a connection that judges no rules (the marts)
-- does not fill them (engine.prepare(rule_tables=False) drops them).
CREATE OR REPLACE TEMP TABLE _cov_kind (id_number VARCHAR, kind VARCHAR, b BIT);
CREATE OR REPLACE TEMP TABLE _cov (id_number VARCHAR, kmask BIGINT, bits VARCHAR);

-- true when every month lo..hi is covered according to a _cov.bits string (NULL bits =
-- no contributions of some kind at all); an empty window is covered.
-- Rules join _cov on (id_number, kmask) and call this per row.
CREATE OR REPLACE TEMP MACRO window_covered(p_bits, p_lo, p_hi) AS
    (month_index(p_lo) > month_index(p_hi) OR coalesce(
        month_index(p_lo) >= getvariable('cov_min') AND month_index(p_hi) <= getvariable('cov_max')
        AND NOT contains(substr(p_bits, month_index(p_lo) - getvariable('cov_min') + 1,
                                month_index(p_hi) - month_index(p_lo) + 1), '0'), false));

-- runs of covered months in a _cov.bits string, for the candidates' forecast
-- (expectations/forecast.sql: contrib_ok_on), which must also see a run of payments that
-- began after a contribution window (v2 lag L): covered_upto = the bits of the months up to
-- p_upto without the trailing uncovered ones; covered_last = the newest covered month up to
-- p_upto; covered_run_from = the first month of the run of covered months ending there
-- (NULL when no month up to p_upto is covered).
CREATE OR REPLACE TEMP MACRO covered_upto(p_bits, p_upto) AS
    rtrim(substr(p_bits, 1, greatest(month_index(p_upto) - getvariable('cov_min') + 1, 0)), '0');
CREATE OR REPLACE TEMP MACRO covered_last(p_bits, p_upto) AS
    CASE WHEN length(covered_upto(p_bits, p_upto)) > 0 THEN
        month_of_index(getvariable('cov_min') + length(covered_upto(p_bits, p_upto)) - 1) END;
CREATE OR REPLACE TEMP MACRO covered_run_from(p_bits, p_upto) AS
    CASE WHEN length(covered_upto(p_bits, p_upto)) > 0 THEN
        month_of_index(getvariable('cov_min') + length(rtrim(covered_upto(p_bits, p_upto), '1'))) END;

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

-- (v2) a number of months as a span in messages: 12 -> '1年' / '1 year', 6 -> '6个月' / '6 months'
CREATE OR REPLACE TEMP MACRO span_zh(n) AS
    CASE WHEN n % 12 = 0 THEN CAST(n // 12 AS VARCHAR) || '年' ELSE CAST(n AS VARCHAR) || '个月' END;
CREATE OR REPLACE TEMP MACRO span_en(n) AS
    CASE WHEN n = 12 THEN '1 year' WHEN n % 12 = 0 THEN CAST(n // 12 AS VARCHAR) || ' years'
         WHEN n = 1 THEN '1 month' ELSE CAST(n AS VARCHAR) || ' months' END;
