-- Audit average per team = mean of the monthly averages over the audit's
-- months in which the team has workers ("averaged over the months", as the
-- published audits did). An audit with no loaded month falls back to the
-- published figures in audit_baselines.
WITH loaded AS (
    SELECT DISTINCT a.audit
    FROM audits AS a
    JOIN team_monthly AS t ON t.month BETWEEN a.first_month AND a.last_month
)
SELECT
    a.audit,
    t.team,
    a.months_expected,
    count(*)::INTEGER AS months_covered,
    avg(t.avg_caseload) AS avg_caseload,
    avg(t.avg_caseload_per_fte) AS avg_caseload_per_fte,
    avg(t.avg_weighted_caseload) AS avg_weighted_caseload,
    'monthly' AS source
FROM audits AS a
JOIN team_monthly AS t ON t.month BETWEEN a.first_month AND a.last_month
WHERE t.workers > 0
GROUP BY ALL

UNION ALL

SELECT
    b.audit, b.name, a.months_expected, 0, b.avg_caseload, NULL, NULL, 'baseline'
FROM audit_baselines AS b
JOIN audits AS a ON a.audit = b.audit
WHERE b.dimension = 'team' AND b.audit NOT IN (SELECT audit FROM loaded)
