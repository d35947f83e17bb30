-- Findings per rule, titled from the `rules` table (the rule book as the rule step wrote it).
-- findings / employers count the open ones; waived (approved exceptions, findings.waived)
-- counts the waived ones apart, so a rule whose every finding is waived still has its row.
CREATE OR REPLACE TABLE bureau_findings_by_rule AS
SELECT as_of() AS as_of, f.rule_id, any_value(f.severity) AS severity, any_value(f.entity_type) AS entity_type,
       coalesce(any_value(r.title_zh), f.rule_id) AS title_zh, coalesce(any_value(r.title_en), f.rule_id) AS title_en,
       count(*) FILTER (WHERE NOT coalesce(f.waived, false)) AS findings,
       count(DISTINCT f.uscc) FILTER (WHERE NOT coalesce(f.waived, false)) AS employers,
       count(*) FILTER (WHERE coalesce(f.waived, false)) AS waived
FROM findings f LEFT JOIN _rules r ON r.rule_id = f.rule_id
GROUP BY f.rule_id ORDER BY findings DESC, waived DESC, f.rule_id;
