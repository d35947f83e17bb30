-- permit_status: one row per permit. The renewal window (W0/W1) and "renewal in hand" are
-- the rule book's own (_permits_x, expectations/preamble.sql); window_state is the state
-- named by the permit rule that breaks (_window_hits: the facts of the rules whose YAML
-- entry carries `window_state:`), renewal_in_hand when a renewal is in hand, inactive for
-- permits that are not active, not_due otherwise. Waived findings (findings.waived) are not
-- open work: open_findings/open_errors/open_warnings leave them out (waived_findings counts
-- them), and window_waived says the finding that sets window_state is waived — the state
-- stays the rule's (the contract's states), the KPIs that count states leave it out.
CREATE OR REPLACE TABLE permit_status AS
WITH hits AS (SELECT permit_no, arg_min(state, ord) AS state, arg_min(rule_id, ord) AS rule_id
              FROM _window_hits GROUP BY permit_no),
f AS (
    SELECT entity_key AS permit_no, count(*) FILTER (WHERE NOT w) AS n,
           count(*) FILTER (WHERE severity = 'error' AND NOT w) AS ne,
           count(*) FILTER (WHERE severity = 'warning' AND NOT w) AS nw, count(*) FILTER (WHERE w) AS nwv,
           list(rule_id) FILTER (WHERE w) AS waived_rules
    FROM (SELECT *, coalesce(waived, false) AS w FROM findings) WHERE entity_type = 'permit' GROUP BY entity_key),
s AS (
    SELECT p.*, e.name AS employer_name, e.district, x.w0 AS window_start, x.w1 AS window_end,
           x.renewal_application_id,
           CASE WHEN x.permit_no IS NULL THEN 'inactive'
                WHEN x.renewal_in_hand THEN 'renewal_in_hand'
                ELSE coalesce(h.state, 'not_due') END AS window_state,
           coalesce(f.n, 0) AS open_findings, coalesce(f.ne, 0) AS open_errors, coalesce(f.nw, 0) AS open_warnings,
           coalesce(f.nwv, 0) AS waived_findings,
           coalesce(x.permit_no IS NOT NULL AND NOT x.renewal_in_hand
                    AND list_contains(f.waived_rules, h.rule_id), false) AS window_waived
    FROM permits p LEFT JOIN employers e USING (uscc) LEFT JOIN _permits_x x USING (permit_no)
    LEFT JOIN hits h USING (permit_no) LEFT JOIN f USING (permit_no))
SELECT as_of() AS as_of, s.permit_no, s.id_number, mask_id(s.id_number) AS id_number_masked,
       pe.name AS holder_name, s.uscc, s.employer_name, s.district, lab('district', s.district) AS district_zh,
       s.status, lab('permit_status', s.status) AS status_zh,
       s.issued_on, s.expires_on, s.cancelled_on, s.deferred_on,
       CAST(s.expires_on - as_of() AS INTEGER) AS days_to_expiry, s.window_start, s.window_end,
       s.window_state, lab('window_state', s.window_state) AS window_state_zh, s.window_waived,
       s.renewal_application_id,
       CAST(s.open_findings AS INTEGER) AS open_findings, CAST(s.open_errors AS INTEGER) AS open_errors,
       CAST(s.open_warnings AS INTEGER) AS open_warnings, CAST(s.waived_findings AS INTEGER) AS waived_findings
FROM s LEFT JOIN persons pe USING (id_number)
ORDER BY s.uscc, s.expires_on, s.permit_no;
