-- filled by the builder with bound values
CREATE OR REPLACE TABLE rules (rule_id VARCHAR, severity VARCHAR, entity_type VARCHAR, title_zh VARCHAR,
                               title_en VARCHAR, source VARCHAR, message_zh VARCHAR, message_en VARCHAR)
