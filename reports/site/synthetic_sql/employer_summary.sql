-- One row per employer; $districts / $district_zh / $categories / $category_zh are the builder's lists.
CREATE OR REPLACE TABLE employer_summary AS
SELECT $as_of AS as_of, uscc_of(i) AS uscc,
       '北京' || pick(['星辰', '华科', '云途', '智汇', '博远', '中关', '天工', '数联'], i, 1)
         || pick(['科技', '软件', '信息', '金融', '文化', '研发'], i, 2) || '有限公司' || i AS name,
       'enterprise' AS entity_type, '企业法人' AS entity_type_zh,
       $districts[1 + (h(i, 3) % 17)::INTEGER] AS district,
       $district_zh[1 + (h(i, 3) % 17)::INTEGER] AS district_zh,
       $categories[1 + (h(i, 4) % 8)::INTEGER] AS category,
       $category_zh[1 + (h(i, 4) % 8)::INTEGER] AS category_zh,
       (5 + h(i, 5) % 40)::INTEGER AS employees_current,
       (2 + h(i, 6) % 20)::INTEGER AS permits_total,
       (1 + h(i, 6) % 15)::INTEGER AS permits_active,
       (h(i, 7) % 3)::INTEGER AS permits_due_soon,
       (h(i, 8) % 3)::INTEGER AS permits_window_open,
       (h(i, 9) % 2)::INTEGER AS permits_lapsed,
       (h(i, 10) % 5)::INTEGER AS apps_open,
       (h(i, 15) % 6)::INTEGER AS findings_error,
       (h(i, 16) % 9)::INTEGER AS findings_warning,
       (h(i, 17) % 4)::INTEGER AS findings_info
FROM range($n) t(i)
