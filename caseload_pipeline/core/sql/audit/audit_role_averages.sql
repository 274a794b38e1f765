-- The same as audit_team_averages, by role across teams: the published figure
-- of a role stands in for an audit in which the role has no loaded month.
WITH monthly AS (
    SELECT
        a.audit,
        r.role,
        a.months_expected,
        count(*)::INTEGER AS months_covered,
        avg(r.avg_caseload) AS avg_caseload,
        avg(r.avg_caseload_per_fte) AS avg_caseload_per_fte,
        'monthly' AS source
    FROM audits AS a
    JOIN role_monthly AS r ON r.month BETWEEN a.first_month AND a.last_month
    WHERE r.workers > 0
    GROUP BY ALL
)
SELECT * FROM monthly

UNION ALL

SELECT b.audit, b.name, a.months_expected, 0, b.avg_caseload, NULL, 'baseline'
FROM audit_baselines AS b
JOIN audits AS a ON a.audit = b.audit
WHERE b.dimension = 'role'
  AND NOT EXISTS (SELECT 1 FROM monthly AS m WHERE m.audit = b.audit AND m.role = b.name)
