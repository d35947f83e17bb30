-- Dependents' papers: the items of list 'dependents' (DEP-SPOUSE-NO-CERT,
-- DEP-CHILD16-NO-PROOF), one row per dependent (the finding's entity), with the holder and
-- the holder's permit or application the finding names (detail). due_on: the finding's, else
-- as_of (now).
CREATE OR REPLACE TABLE todo_dependents AS
WITH g AS (
    SELECT uscc, entity_key AS dependent_id_number,
           string_agg(rule_id, ',' ORDER BY rule_id) AS rule_ids,
           string_agg(message_zh, '；' ORDER BY rule_id) AS reason_zh,
           string_agg(message_en, '; ' ORDER BY rule_id) AS reason_en,
           any_value(json_extract_string(detail, '$.relation')) AS relation,
           any_value(json_extract_string(detail, '$.holder_permit_no')) AS holder_permit_no,
           any_value(json_extract_string(detail, '$.holder_application_id')) AS holder_application_id,
           coalesce(min(due_on), as_of()) AS due_on
    FROM todo_items WHERE list = 'dependents' GROUP BY uscc, entity_key),
d AS (SELECT id_number, any_value(holder_id_number) AS holder_id_number, any_value(name) AS name,
             any_value(relation) AS relation FROM dependents GROUP BY id_number)
SELECT as_of() AS as_of, g.uscc, g.dependent_id_number, mask_id(g.dependent_id_number) AS dependent_id_number_masked,
       d.name AS dependent_name, coalesce(g.relation, d.relation) AS relation,
       lab('relation', coalesce(g.relation, d.relation)) AS relation_zh,
       d.holder_id_number, mask_id(d.holder_id_number) AS holder_id_number_masked, pe.name AS holder_name,
       g.holder_permit_no, g.holder_application_id, g.due_on, g.rule_ids, g.reason_zh, g.reason_en
FROM g LEFT JOIN d ON d.id_number = g.dependent_id_number LEFT JOIN persons pe ON pe.id_number = d.holder_id_number
ORDER BY g.uscc, g.due_on NULLS LAST, g.dependent_id_number;
