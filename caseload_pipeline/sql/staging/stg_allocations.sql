-- The month's allocations, typed and keyed, joined to the roster loaded just
-- before (staff). Allocations to a worker not on the roster are kept with
-- rostered = false. case_weight follows SPEC 5: unassessed complexity or risk
-- counts as medium; travel points are capped.
SELECT
    getvariable('month')::DATE AS month,
    pseudonym(c.case_id) AS case_key,
    pseudonym(c.worker_id) AS worker_key,
    coalesce(s.team, t.team) AS team,
    s.role,
    lower(c.complexity) AS complexity,
    lower(c.risk) AS risk,
    c.travel_minutes::DOUBLE::INTEGER AS travel_minutes,
    parse_date(c.allocated_on) AS allocated_on,
    coalesce(cw.points, cw_medium.points)
        + coalesce(rw.points, rw_medium.points)
        + coalesce(least(getvariable('max_travel_points'),
                         floor(c.travel_minutes::DOUBLE / getvariable('minutes_per_point'))), 0)
        AS case_weight,
    false AS reassigned,  -- set by reassignment.sql once neighbouring months are known
    s.worker_key IS NOT NULL AS rostered,
    t.team AS case_system_team,
    parse_date(c.snapshot_date) AS snapshot_date,
    c.reassignment_reason
FROM read_parquet(getvariable('caseload_path')) AS c
LEFT JOIN staff AS s
    ON s.month = getvariable('month')::DATE AND s.worker_key = pseudonym(c.worker_id)
LEFT JOIN team_alias AS t ON t.folded = fold(c.team)
LEFT JOIN level_weights AS cw ON cw.dimension = 'complexity' AND cw.level = lower(c.complexity)
LEFT JOIN level_weights AS rw ON rw.dimension = 'risk' AND rw.level = lower(c.risk)
JOIN level_weights AS cw_medium ON cw_medium.dimension = 'complexity' AND cw_medium.level = 'medium'
JOIN level_weights AS rw_medium ON rw_medium.dimension = 'risk' AND rw_medium.level = 'medium'
