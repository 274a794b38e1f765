-- One row per case-holding worker on the roster per month, zero-case workers
-- included. Utilisation = weighted caseload / capacity; the band follows
-- weights.yaml (green up to bands.green, amber up to bands.amber, else red).
SELECT
    s.month,
    s.worker_key,
    s.team,
    s.role,
    s.fte,
    count(a.case_key)::INTEGER AS cases,
    coalesce(sum(a.case_weight), 0) AS weighted_caseload,
    s.capacity_points,
    coalesce(sum(a.case_weight), 0) / nullif(s.capacity_points, 0) AS utilisation,
    CASE
        WHEN s.capacity_points IS NULL OR s.capacity_points = 0 THEN NULL
        WHEN coalesce(sum(a.case_weight), 0) / s.capacity_points <= getvariable('band_green')
            THEN 'green'
        WHEN coalesce(sum(a.case_weight), 0) / s.capacity_points <= getvariable('band_amber')
            THEN 'amber'
        ELSE 'red'
    END AS band
FROM staff AS s
LEFT JOIN allocations AS a ON a.month = s.month AND a.worker_key = s.worker_key
WHERE s.case_holding
  AND s.month IN (SELECT month FROM refresh_months)
GROUP BY s.month, s.worker_key, s.team, s.role, s.fte, s.capacity_points
