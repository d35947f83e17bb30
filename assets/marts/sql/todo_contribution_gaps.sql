-- Contribution gaps: the NC-CONTRIB-GAP findings, month by month as the finding's detail
-- lists them (detail.missing = [{month 'YYYY-MM', kinds [...]}], the rule's own window).
CREATE OR REPLACE TABLE todo_contribution_gaps AS
WITH g AS (
    SELECT entity_key AS permit_no, any_value(uscc) AS uscc, any_value(id_number) AS id_number,
           min(due_on) AS due_on,
           any_value(CAST(json_extract(detail, '$.missing') AS STRUCT(month VARCHAR, kinds VARCHAR[])[])) AS missing
    FROM findings WHERE rule_id = 'NC-CONTRIB-GAP' AND entity_type = 'permit'
    GROUP BY entity_key),
pm AS (
    SELECT permit_no, ym_date(x.month) AS m,
           array_to_string(list_transform(x.kinds, lambda k: lab('contribution_kind', k)), ',') AS kinds_zh
    FROM (SELECT permit_no, unnest(missing) AS x FROM g)),
agg AS (
    SELECT permit_no, list(m ORDER BY m) AS missing_months, count(*) AS n,
           string_agg(strftime(m, '%Y-%m') || '(' || kinds_zh || ')', '、' ORDER BY m) AS detail,
           min(m) AS first_m, max(m) AS last_m
    FROM pm GROUP BY permit_no)
SELECT as_of() AS as_of, g.uscc, g.permit_no, g.id_number, mask_id(g.id_number) AS id_number_masked, pe.name,
       coalesce(agg.missing_months, []::DATE[]) AS missing_months,
       CAST(coalesce(agg.n, 0) AS INTEGER) AS missing_month_count,
       agg.detail AS missing_detail_zh, agg.first_m AS first_missing_month, agg.last_m AS last_missing_month,
       g.due_on
FROM g LEFT JOIN agg USING (permit_no) LEFT JOIN persons pe ON pe.id_number = g.id_number
ORDER BY g.uscc, g.due_on NULLS LAST, g.permit_no;
