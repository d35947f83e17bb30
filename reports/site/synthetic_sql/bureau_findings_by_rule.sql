CREATE OR REPLACE TABLE bureau_findings_by_rule AS
SELECT $as_of AS as_of, rule_id, severity, entity_type, title_zh, title_en,
       (h(hash(rule_id) % 1000, 111) % ($n * 2) + 1)::BIGINT AS findings,
       (h(hash(rule_id) % 1000, 112) % $n + 1)::BIGINT AS employers
FROM rules
