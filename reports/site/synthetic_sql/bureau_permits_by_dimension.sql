-- filled by the builder with bound values
CREATE OR REPLACE TABLE bureau_permits_by_dimension (as_of DATE, dimension VARCHAR, code VARCHAR, label_zh VARCHAR,
                                                     label_en VARCHAR, permits BIGINT, sort_order INTEGER)
