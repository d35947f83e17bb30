-- Contribution gaps: the items of list 'contribution_gaps' (NC-CONTRIB-GAP), month by month
-- as the finding's detail lists them (detail.missing = [{month 'YYYY-MM', kinds [...]}], the
-- rule's own window). due_on: the finding's (W0, when the renewal can be filed).
CREATE OR REPLACE TABLE todo_contribution_gaps AS
WITH g AS (
    SELECT uscc, entity_key AS permit_no, any_value(id_number) AS id_number, min(due_on) AS due_on,
           string_agg(rule_id, ',' ORDER BY rule_id) AS rule_ids,
           string_agg(message_zh, '；' ORDER BY rule_id) AS reason_zh,
           string_agg(message_en, '; ' ORDER BY rule_id) AS reason_en,
           any_value(CAST(json_extract(detail, '$.missing') AS STRUCT(month VARCHAR, kinds VARCHAR[])[])) AS missing
    FROM todo_items WHERE list = 'contribution_gaps'
    GROUP BY uscc, entity_key),
pm AS (
    SELECT uscc, permit_no, ym_date(x.month) AS m,
           array_to_string(list_transform(x.kinds, lambda k: lab('contribution_kind', k)), ',') AS kinds_zh
    FROM (SELECT uscc, permit_no, unnest(missing) AS x FROM g)),
agg AS (
    SELECT uscc, permit_no, list(m ORDER BY m) AS missing_months, count(*) AS n,
           string_agg(strftime(m, '%Y-%m') || '(' || kinds_zh || ')', '、' ORDER BY m) AS detail,
           min(m) AS first_m, max(m) AS last_m
    FROM pm GROUP BY uscc, permit_no)
SELECT as_of() AS as_of, g.uscc, g.permit_no, g.id_number, mask_id(g.id_number) AS id_number_masked, pe.name,
       coalesce(agg.missing_months, []::DATE[]) AS missing_months,
       CAST(coalesce(agg.n, 0) AS INTEGER) AS missing_month_count,
       agg.detail AS missing_detail_zh, agg.first_m AS first_missing_month, agg.last_m AS last_missing_month,
       coalesce(g.due_on, as_of()) AS due_on, g.rule_ids, g.reason_zh, g.reason_en
FROM g LEFT JOIN agg USING (uscc, permit_no) LEFT JOIN persons pe ON pe.id_number = g.id_number
ORDER BY g.uscc, due_on NULLS LAST, g.permit_no;
