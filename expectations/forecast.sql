-- Macros over the rules' fact columns, run after preamble.sql (expectations/engine.py).
-- The candidates' forecasts (expectations/candidates.py) and the marts use them; a rule's
-- `candidate.ok_on` names the one that reads its facts.

-- 'YYYY-MM' (as in a facts `missing` list) -> the month's first day
CREATE OR REPLACE TEMP MACRO ym_date(s) AS CAST(strptime(s || '-01', '%Y-%m-%d') AS DATE);
CREATE OR REPLACE TEMP MACRO missing_dates(missing) AS list_transform(missing, lambda x: ym_date(x.month));

-- Forecast of a broken contribution window (facts columns missing, window_from, window_to,
-- _run_from) "if payments continue" (outputs.md: eligible_on): the first day d' from which the
-- window (which moves with d) starts after the last missing month. Payments count as continuing
-- when there is a current run of covered months (run_from: the run holding the window's newest
-- month, or one that began after the window — with the v2 lag L such a run is invisible to the
-- window itself), or only the window's newest month is missing (declared late), or the person
-- was hired in or after the window's newest month (payments assumed to start in the hire
-- month); otherwise NULL (payments interrupted: waiting alone does not help).
CREATE OR REPLACE TEMP MACRO contrib_ok_on(missing, window_from, window_to, hired_on, run_from) AS
    CASE WHEN missing IS NULL OR len(missing) = 0 THEN NULL
         WHEN run_from IS NOT NULL THEN
              add_months(month_start(as_of()), month_index(run_from) - month_index(ym_date(window_from)))
         WHEN NOT list_contains(missing_dates(missing), add_months(ym_date(window_to), -1)) THEN
              greatest(add_months(month_start(as_of()), 1),
                       add_months(month_start(as_of()), coalesce(
                           month_index(list_max(list_filter(missing_dates(missing), lambda m: m < ym_date(window_to))))
                           - month_index(ym_date(window_from)) + 1, 0)))
         WHEN month_start(hired_on) >= ym_date(window_to) THEN
              add_months(month_start(as_of()), month_index(month_start(hired_on)) - month_index(ym_date(window_from)))
    END;

-- Forecast of a broken withholder check (ELIG-WITHHOLDER facts: not_withheld, window_from,
-- window_to) "if payments continue" as they are now: when the window's newest month is properly
-- withheld, the first day the window starts after the last month that is not; when it is not,
-- and the person joined this employer after the window (the bad months are the old employer's),
-- the day the window starts at the hire month; otherwise NULL (someone else pays now).
CREATE OR REPLACE TEMP MACRO withholder_ok_on(bad, window_from, window_to, hired_on) AS
    CASE WHEN bad IS NULL OR len(bad) = 0 THEN NULL
         WHEN NOT list_contains(list_transform(bad, lambda x: x.month), window_to) THEN
              add_months(month_start(as_of()),
                         month_index(ym_date(list_max(list_transform(bad, lambda x: x.month))))
                         - month_index(ym_date(window_from)) + 1)
         WHEN month_start(hired_on) > ym_date(window_to) THEN
              add_months(month_start(as_of()), month_index(month_start(hired_on)) - month_index(ym_date(window_from)))
    END;
