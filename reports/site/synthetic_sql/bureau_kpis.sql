-- filled by the builder with bound values
CREATE OR REPLACE TABLE bureau_kpis (as_of DATE, kpi VARCHAR, label_zh VARCHAR, label_en VARCHAR, value DOUBLE,
                                     sort_order INTEGER)
