-- Audit average per team = mean of the monthly averages over the audit's
-- months in which the team has workers ("averaged over the months", as the
-- published audits did). A team with no such month in an audit falls back to
-- its published figure in audit_baselines, if there is one: per (audit, team),
-- so an audit loaded for some teams keeps the published figures of the others.
WITH monthly AS (
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
)
SELECT * FROM monthly

UNION ALL

SELECT
    b.audit, b.name, a.months_expected, 0, b.avg_caseload, NULL, NULL, 'baseline'
FROM audit_baselines AS b
JOIN audits AS a ON a.audit = b.audit
WHERE b.dimension = 'team'
  AND NOT EXISTS (SELECT 1 FROM monthly AS m WHERE m.audit = b.audit AND m.team = b.name)
