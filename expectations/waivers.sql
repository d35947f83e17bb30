-- Waivers (rules.md § Waivers, v2): a finding whose (rule_id, entity_key) matches an
-- in-force waiver (_waivers_in_force, preamble.sql) is waived: it stays a finding with
-- waived = true and detail.waiver = {reason, approved_by, approved_on, expires_on}.
-- Runs after every rule of the run (expectations/engine.py evaluate); the rule layer's
-- rows are in _run_findings, the ingest layer's (DQ-ID-MISMATCH) in findings.
UPDATE _run_findings f
SET waived = true,
    detail = CAST(json_merge_patch(CAST(f.detail AS VARCHAR), w.waiver_json) AS JSON)
FROM _waivers_in_force w
WHERE w.rule_id = f.rule_id AND w.entity_key = f.entity_key;

UPDATE findings f
SET waived = w.rule_id IS NOT NULL,
    detail = CASE WHEN w.rule_id IS NULL THEN CAST(json_merge_patch(CAST(f.detail AS VARCHAR), '{"waiver": null}') AS JSON)
                  ELSE CAST(json_merge_patch(CAST(f.detail AS VARCHAR), w.waiver_json) AS JSON) END
FROM (SELECT g.rule_id AS frule, g.entity_key AS fkey, w.*
      FROM (SELECT DISTINCT rule_id, entity_key FROM findings
            WHERE rule_id IN (SELECT rule_id FROM _rule_entities WHERE engine = 'ingest')) g
      LEFT JOIN _waivers_in_force w ON w.rule_id = g.rule_id AND w.entity_key = g.entity_key) w
WHERE f.rule_id = w.frule AND f.entity_key = w.fkey;
