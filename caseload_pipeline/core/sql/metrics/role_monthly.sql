-- Role figures per month, across teams, on the same definitions as team_monthly.
SELECT
    month,
    role,
    count(*)::INTEGER AS workers,
    sum(fte) AS fte,
    sum(cases)::INTEGER AS cases,
    sum(cases) / count(*) AS avg_caseload,
    sum(cases) / nullif(sum(fte), 0) AS avg_caseload_per_fte
FROM worker_monthly
WHERE month IN (SELECT month FROM refresh_months)
GROUP BY month, role
