-- City KPIs, one row each; labels that name a policy value read it from the default policy.
-- Waived findings (findings.waived) are not open work: the findings and window-state counts
-- leave them out (permit_status.window_waived); findings_waived counts them apart.
CREATE OR REPLACE TABLE bureau_kpis AS
WITH pol AS (SELECT * FROM _policy WHERE pkey = '*'),
k(kpi, label_zh, label_en, value, sort_order) AS (
    SELECT 'employers', '聘用单位数', 'Employers', (SELECT count(*) FROM employers), 0
    UNION ALL SELECT 'employers_with_permits', '有持证人的单位数', 'Employers with active permits',
        (SELECT count(DISTINCT uscc) FROM _active_permits), 1
    UNION ALL SELECT 'permits_active', '有效工作居住证', 'Active permits', (SELECT count(*) FROM _active_permits), 2
    UNION ALL SELECT 'permits_due_90d', (SELECT expiry_notice_days FROM pol) || '天内到期',
        'Due within ' || (SELECT expiry_notice_days FROM pol) || ' days',
        (SELECT count(*) FROM permit_status WHERE window_state = 'due_soon' AND NOT window_waived), 3
    UNION ALL SELECT 'permits_window_open', '续签办理期内未申请', 'Renewal window open, not filed',
        (SELECT count(*) FROM permit_status WHERE window_state = 'open' AND NOT window_waived), 4
    UNION ALL SELECT 'permits_lapsed', '已过续签期', 'Lapsed',
        (SELECT count(*) FROM permit_status WHERE window_state = 'lapsed' AND NOT window_waived), 5
    UNION ALL SELECT 'applications_open', '在办申请', 'Open applications',
        (SELECT count(*) FROM applications WHERE is_open(status)), 6
    UNION ALL SELECT 'new_12m', '近12个月新办', 'New permits, last 12 months',
        (SELECT count(*) FROM applications WHERE status = 'approved' AND type = 'new'
           AND decided_on > as_of() - 365 AND decided_on <= as_of()), 7
    UNION ALL SELECT 'renewed_12m', '近12个月续签', 'Renewals, last 12 months',
        (SELECT count(*) FROM applications WHERE status = 'approved' AND type = 'renewal'
           AND decided_on > as_of() - 365 AND decided_on <= as_of()), 8
    UNION ALL SELECT 'cancelled_12m', '近12个月注销', 'Cancelled, last 12 months',
        (SELECT count(*) FROM permits WHERE cancelled_on > as_of() - 365 AND cancelled_on <= as_of()), 9
    UNION ALL SELECT 'sla_within_share_12m', (SELECT sla_working_days FROM pol) || '个工作日内办结比例',
        'Share within the working-day promise',
        (SELECT CASE WHEN sum(applications) > 0 THEN round(sum(within_sla) / sum(applications), 4) END
         FROM bureau_processing_by_district), 10
    UNION ALL SELECT 'median_processing_wd_12m', '办理工作日中位数', 'Median processing working days',
        (SELECT median(w1.cum_wd - w0.cum_wd) FROM applications a
         JOIN _cal w0 ON w0.day = a.window_submitted_on JOIN _cal w1 ON w1.day = coalesce(a.decided_on, as_of())
         WHERE a.window_submitted_on > as_of() - 365 AND a.window_submitted_on <= as_of()), 11
    UNION ALL SELECT 'findings_error', '错误', 'Errors', (SELECT count(*) FROM findings WHERE severity = 'error' AND NOT coalesce(waived, false)), 12
    UNION ALL SELECT 'findings_warning', '警告', 'Warnings',
        (SELECT count(*) FROM findings WHERE severity = 'warning' AND NOT coalesce(waived, false)), 13
    UNION ALL SELECT 'findings_info', '提示', 'Notices', (SELECT count(*) FROM findings WHERE severity = 'info' AND NOT coalesce(waived, false)), 14
    UNION ALL SELECT 'candidates', '可申请人员', 'Candidates', (SELECT count(*) FROM candidates), 15
    UNION ALL SELECT 'candidates_eligible_now', '现在即可申请', 'Candidates eligible now',
        (SELECT count(*) FROM candidates WHERE eligible_now), 16
    UNION ALL SELECT 'findings_waived', '已批准例外', 'Waived (approved exceptions)',
        (SELECT count(*) FROM findings WHERE coalesce(waived, false)), 17)
SELECT as_of() AS as_of, kpi, label_zh, label_en, CAST(value AS DOUBLE) AS value, sort_order
FROM k ORDER BY sort_order;
