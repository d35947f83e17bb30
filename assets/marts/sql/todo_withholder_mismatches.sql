-- Withholder mismatches: the items of list 'withholder_mismatches' (NC-WITHHOLDER): the months
-- and kinds whose tax / social insurance someone other than the employer (or its registered
-- agent) paid, and who paid, as the finding's detail lists them (detail.not_withheld =
-- [{month, kind, withholders [...]}]). due_on: the finding's (W0: the renewal will be returned).
CREATE OR REPLACE TABLE todo_withholder_mismatches AS
WITH g AS (
    SELECT uscc, entity_key AS permit_no, any_value(id_number) AS id_number, min(due_on) AS due_on,
           string_agg(rule_id, ',' ORDER BY rule_id) AS rule_ids,
           string_agg(message_zh, '；' ORDER BY rule_id) AS reason_zh,
           string_agg(message_en, '; ' ORDER BY rule_id) AS reason_en,
           flatten(list(CAST(json_extract(detail, '$.not_withheld')
                             AS STRUCT(month VARCHAR, kind VARCHAR, withholders VARCHAR[])[]))) AS nw
    FROM todo_items WHERE list = 'withholder_mismatches'
    GROUP BY uscc, entity_key),
x AS (SELECT uscc, permit_no, unnest(nw, recursive := true) FROM g),
agg AS (
    SELECT uscc, permit_no, count(DISTINCT month) AS n, min(ym_date(month)) AS first_m, max(ym_date(month)) AS last_m,
           string_agg(month || ' ' || lab('contribution_kind', kind) || ':'
                      || coalesce(nullif(array_to_string(withholders, '、'), ''), '(无扣缴单位)'), '；'
                      ORDER BY month, kind) AS detail_zh,
           array_to_string(list_sort(list_distinct(flatten(list(withholders)))), '、') AS paid_by
    FROM x GROUP BY uscc, permit_no)
SELECT as_of() AS as_of, g.uscc, g.permit_no, g.id_number, mask_id(g.id_number) AS id_number_masked, pe.name,
       CAST(coalesce(agg.n, 0) AS INTEGER) AS month_count, agg.detail_zh AS months_detail_zh,
       agg.paid_by AS paid_by_zh, agg.first_m AS first_month, agg.last_m AS last_month,
       coalesce(g.due_on, as_of()) AS due_on, g.rule_ids, g.reason_zh, g.reason_en
FROM g LEFT JOIN agg USING (uscc, permit_no) LEFT JOIN persons pe ON pe.id_number = g.id_number
ORDER BY g.uscc, due_on NULLS LAST, g.permit_no;
