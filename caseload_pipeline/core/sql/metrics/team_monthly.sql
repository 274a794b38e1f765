-- Team figures per month (SPEC 5): workers are case-holding roster workers,
-- cases the allocations they hold (a co-allocated case once per worker).
SELECT
    w.month,
    w.team,
    count(*)::INTEGER AS workers,
    sum(w.fte) AS fte,
    sum(w.cases)::INTEGER AS cases,
    sum(w.cases) / count(*) AS avg_caseload,
    sum(w.cases) / nullif(sum(w.fte), 0) AS avg_caseload_per_fte,
    sum(w.weighted_caseload) / count(*) AS avg_weighted_caseload,
    median(w.cases)::DOUBLE AS median_caseload,
    max(w.cases)::INTEGER AS max_caseload,
    coalesce(sum(r.reassigned_cases), 0)::INTEGER AS reassigned_cases,
    coalesce(sum(r.reassigned_cases), 0) / nullif(sum(w.cases), 0) AS reassignment_rate
FROM worker_monthly AS w
LEFT JOIN (
    SELECT month, worker_key, count(*) FILTER (WHERE reassigned) AS reassigned_cases
    FROM allocations
    GROUP BY month, worker_key
) AS r ON r.month = w.month AND r.worker_key = w.worker_key
WHERE w.month IN (SELECT month FROM refresh_months)
GROUP BY w.month, w.team
