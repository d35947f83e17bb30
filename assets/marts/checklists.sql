-- The checklists marts (docs/checklists.md). Each statement starts with a line
-- naming it (two dashes, a space, two at-signs, a space, the name); bound
-- parameters: $as_of (DATE), $open (VARCHAR[] open statuses).
-- Inputs prepared by assets/marts/checklists.py: _ck_items, _ck_item_rules
-- (expectations/checklists.yaml as tables), _ck_persons, _ck_dependents,
-- _ck_findings (thin views giving version-1 and version-2 warehouses one shape; the
-- dependents' age at as_of is computed there with the connection's age macro).
-- Item states come from findings only: an item is `missing` while one of its
-- rules has an unwaived finding linked to the application, `ok` otherwise,
-- `check` when no rule decides it. No rule is re-evaluated here.

-- @@ apps
-- open applications with the facts the `when` conditions read
CREATE OR REPLACE TEMP TABLE _ck_apps AS
SELECT a.application_id, a.type, a.uscc, a.id_number, a.permit_no, a.status, a.submitted_on,
       e.district, coalesce(e.category, 'other') AS employer_category,
       coalesce(p.housing_type, 'none') AS housing_type, coalesce(p.highest_degree, 'none') AS highest_degree,
       coalesce(p.title_level, 'none') AS title_level, coalesce(p.id_type, 'resident_id') AS id_type
FROM applications a
LEFT JOIN employers e ON e.uscc = a.uscc
LEFT JOIN _ck_persons p ON p.id_number = a.id_number
WHERE list_contains($open, a.status)
-- @@ deps
-- the applicants' accompanying family members
CREATE OR REPLACE TEMP TABLE _ck_deps AS
SELECT d.holder_id_number AS id_number,
       count(*) FILTER (WHERE d.relation = 'spouse') AS spouses,
       count(*) FILTER (WHERE d.relation = 'child') AS children,
       max(d.age) FILTER (WHERE d.relation = 'child') AS oldest_child_age
FROM _ck_dependents d
WHERE d.holder_id_number IN (SELECT id_number FROM _ck_apps)
GROUP BY d.holder_id_number
-- @@ links
-- every finding linked to an open application: its own (entity application),
-- and those of its permit, employer, applicant and the applicant's dependents
-- for the rules the checklists name
CREATE OR REPLACE TEMP TABLE _ck_links AS
WITH used AS (
    SELECT rule_id FROM _ck_item_rules
    UNION SELECT when_finding FROM _ck_items WHERE when_finding IS NOT NULL),
f AS (SELECT * FROM _ck_findings WHERE entity_type = 'application' OR rule_id IN (SELECT rule_id FROM used))
SELECT a.application_id, f.rule_id, f.severity, f.entity_type, f.message_zh, f.message_en, f.waived
FROM _ck_apps a JOIN f ON f.entity_type = 'application' AND f.entity_key = a.application_id
UNION ALL
SELECT a.application_id, f.rule_id, f.severity, f.entity_type, f.message_zh, f.message_en, f.waived
FROM _ck_apps a JOIN f ON f.entity_type = 'permit' AND f.entity_key = a.permit_no
UNION ALL
SELECT a.application_id, f.rule_id, f.severity, f.entity_type, f.message_zh, f.message_en, f.waived
FROM _ck_apps a JOIN f ON f.entity_type = 'employer' AND f.entity_key = a.uscc
UNION ALL
SELECT a.application_id, f.rule_id, f.severity, f.entity_type, f.message_zh, f.message_en, f.waived
FROM _ck_apps a JOIN f ON f.entity_type = 'person' AND f.entity_key = a.id_number
UNION ALL
SELECT a.application_id, f.rule_id, f.severity, f.entity_type, f.message_zh, f.message_en, f.waived
FROM _ck_apps a
JOIN (SELECT DISTINCT holder_id_number, id_number FROM _ck_dependents) d ON d.holder_id_number = a.id_number
JOIN f ON f.entity_type = 'dependent' AND f.entity_key = d.id_number
-- @@ checklists
CREATE OR REPLACE TABLE checklists AS
WITH open_rules AS (
    SELECT DISTINCT application_id, rule_id FROM _ck_links WHERE NOT waived),
cand AS (
    SELECT a.application_id, a.uscc, i.*
    FROM _ck_apps a
    JOIN _ck_items i ON i.type = a.type
    LEFT JOIN _ck_deps d ON d.id_number = a.id_number
    LEFT JOIN open_rules w ON w.application_id = a.application_id AND w.rule_id = i.when_finding
    WHERE (i.when_housing_type IS NULL OR list_contains(i.when_housing_type, a.housing_type))
      AND (i.when_highest_degree IS NULL OR list_contains(i.when_highest_degree, a.highest_degree))
      AND (i.when_title_level IS NULL OR list_contains(i.when_title_level, a.title_level))
      AND (i.when_id_type IS NULL OR list_contains(i.when_id_type, a.id_type))
      AND (i.when_employer_category IS NULL OR list_contains(i.when_employer_category, a.employer_category))
      AND (i.when_relation IS NULL
           OR (i.when_relation = 'spouse' AND coalesce(d.spouses, 0) > 0)
           OR (i.when_relation = 'child' AND coalesce(d.children, 0) > 0))
      AND (i.when_children_at_least IS NULL OR coalesce(d.children, 0) >= i.when_children_at_least)
      AND (i.when_child_age_at_least IS NULL OR d.oldest_child_age >= i.when_child_age_at_least)
      AND (i.when_finding IS NULL OR w.rule_id IS NOT NULL)),
st AS (
    SELECT c.application_id, c.item_no,
           arg_min(r.rule_id, r.ord) FILTER (WHERE o.rule_id IS NOT NULL) AS missing_rule,
           arg_min(r.rule_id, r.ord) AS first_rule
    FROM cand c
    JOIN _ck_item_rules r ON r.type = c.type AND r.item_no = c.item_no
    LEFT JOIN open_rules o ON o.application_id = c.application_id AND o.rule_id = r.rule_id
    GROUP BY c.application_id, c.item_no)
SELECT CAST($as_of AS DATE) AS as_of, c.application_id, c.uscc, c.type, c.item_no, c.section, c.item_zh, c.item_en,
       c.applies_zh AS applies, c.applies_en,
       CASE WHEN st.first_rule IS NULL THEN 'check' WHEN st.missing_rule IS NOT NULL THEN 'missing' ELSE 'ok' END
           AS state,
       coalesce(st.missing_rule, st.first_rule) AS rule_id, c.source
FROM cand c LEFT JOIN st USING (application_id, item_no)
ORDER BY c.uscc, c.application_id, c.item_no
-- @@ checklist_findings
-- the findings each printable checklist lists in full sentences
CREATE OR REPLACE TABLE checklist_findings AS
SELECT DISTINCT CAST($as_of AS DATE) AS as_of, l.application_id, a.uscc, l.rule_id, l.severity, l.entity_type,
       l.message_zh, l.message_en, l.waived
FROM _ck_links l JOIN _ck_apps a USING (application_id)
ORDER BY a.uscc, l.application_id, CASE l.severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, l.rule_id
-- @@ checklist_summary
CREATE OR REPLACE TABLE checklist_summary AS
WITH agg AS (
    SELECT application_id, count(*) AS items,
           count(*) FILTER (WHERE state = 'ok') AS items_ok,
           count(*) FILTER (WHERE state = 'missing') AS items_missing,
           count(*) FILTER (WHERE state = 'check') AS items_check,
           list(DISTINCT rule_id ORDER BY rule_id) FILTER (WHERE state = 'missing') AS missing_rule_ids
    FROM checklists GROUP BY application_id),
fin AS (
    SELECT application_id, count(*) FILTER (WHERE NOT waived) AS open_findings FROM _ck_links GROUP BY application_id)
SELECT CAST($as_of AS DATE) AS as_of, a.uscc, a.application_id, a.type, lab('application_type', a.type) AS type_zh,
       a.status, lab('application_status', a.status) AS status_zh, a.permit_no, a.id_number,
       mask_id(a.id_number) AS id_number_masked, p.name, a.submitted_on,
       a.district, lab('district', a.district) AS district_zh,
       CAST(coalesce(g.items, 0) AS INTEGER) AS items, CAST(coalesce(g.items_ok, 0) AS INTEGER) AS items_ok,
       CAST(coalesce(g.items_missing, 0) AS INTEGER) AS items_missing,
       CAST(coalesce(g.items_check, 0) AS INTEGER) AS items_check,
       coalesce(g.items_missing, 0) = 0 AS complete,
       coalesce(g.missing_rule_ids, []) AS missing_rule_ids,
       CAST(coalesce(fin.open_findings, 0) AS INTEGER) AS open_findings,
       'checklists/' || CASE WHEN regexp_full_match(a.application_id, '[0-9A-Za-z_-][0-9A-Za-z_.-]{0,79}')
                             THEN a.application_id ELSE 'app-' || md5(a.application_id) END || '.html'
           AS checklist_href
FROM _ck_apps a
LEFT JOIN agg g USING (application_id)
LEFT JOIN fin USING (application_id)
LEFT JOIN persons p ON p.id_number = a.id_number
ORDER BY a.uscc, coalesce(a.submitted_on, CAST($as_of AS DATE)), a.application_id
-- @@ bureau_checklists
CREATE OR REPLACE TABLE bureau_checklists AS
SELECT CAST($as_of AS DATE) AS as_of, district, lab('district', district) AS district_zh,
       type, lab('application_type', type) AS type_zh,
       count(*) AS open_applications, count(*) FILTER (WHERE complete) AS complete,
       round(count(*) FILTER (WHERE complete) / count(*), 4) AS share_complete
FROM checklist_summary
GROUP BY district, type
ORDER BY district, type
