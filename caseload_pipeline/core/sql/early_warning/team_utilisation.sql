-- Each team's utilisation in each loaded month: the weighted caseload of its
-- case-holding workers over their capacity (roles with a capacity only). FTE,
-- protected caseloads and zero-case workers count exactly as in each worker's band.
SELECT team, month, sum(weighted_caseload) / sum(capacity_points) AS utilisation
FROM worker_monthly
WHERE capacity_points > 0
GROUP BY team, month
ORDER BY team, month
