-- Mart-only classification (not a rule's meaning): which findings count as an employer's
-- non-compliance in the bureau ranking and employer_summary — the employer-side obligations.
CREATE OR REPLACE TEMP MACRO is_noncompliance(rule_id) AS
    (rule_id LIKE 'NC-%' OR rule_id LIKE 'EMP-%' OR rule_id IN ('EXP-LAPSED', 'XFER-DEFERRAL-EXPIRED'));
