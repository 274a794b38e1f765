-- The allocations of each month being loaded (the staging files months_to_load
-- lists), typed and keyed, joined to the roster loaded just before (staff).
-- Allocations to a worker not on the roster are kept with rostered = false.
-- case_weight follows SPEC 5: unassessed complexity or risk counts as medium;
-- travel points are capped.
--
-- Worker ids and team names repeat a lot: each distinct value is hashed or
-- folded once, not once per row (at a million rows this is most of the cost).
WITH source AS (
    SELECT m.month, c.* EXCLUDE (filename)
    FROM read_parquet(getvariable('caseload_paths'), filename = true, union_by_name = true)
        AS c
    JOIN months_to_load AS m ON m.caseload_path = c.filename
),
worker_keys AS (
    SELECT worker_id, pseudonym(worker_id) AS worker_key
    FROM (SELECT DISTINCT worker_id FROM source)
),
case_system_teams AS (
    SELECT raw.team AS raw_team, t.team
    FROM (SELECT DISTINCT team FROM source WHERE team IS NOT NULL) AS raw
    JOIN team_alias AS t ON t.folded = fold(raw.team)
),
medium AS (
    SELECT
        max(points) FILTER (WHERE dimension = 'complexity') AS complexity,
        max(points) FILTER (WHERE dimension = 'risk') AS risk
    FROM level_weights WHERE level = 'medium'
)
SELECT
    c.month,
    pseudonym(c.case_id) AS case_key,
    w.worker_key,
    coalesce(s.team, t.team) AS team,
    s.role,
    lower(c.complexity) AS complexity,
    lower(c.risk) AS risk,
    c.travel_minutes::DOUBLE::INTEGER AS travel_minutes,
    parse_date(c.allocated_on) AS allocated_on,
    coalesce(cw.points, medium.complexity)
        + coalesce(rw.points, medium.risk)
        -- least() skips NULLs, so blank travel must become 0 points before the cap
        + least(getvariable('max_travel_points'),
                coalesce(floor(c.travel_minutes::DOUBLE / getvariable('minutes_per_point')), 0))
        AS case_weight,
    false AS reassigned,  -- set by reassignment.sql once neighbouring months are known
    s.worker_key IS NOT NULL AS rostered,
    t.team AS case_system_team,
    parse_date(c.snapshot_date) AS snapshot_date,
    c.reassignment_reason
FROM source AS c
JOIN worker_keys AS w ON w.worker_id = c.worker_id
CROSS JOIN medium
LEFT JOIN staff AS s ON s.month = c.month AND s.worker_key = w.worker_key
LEFT JOIN case_system_teams AS t ON t.raw_team = c.team
LEFT JOIN level_weights AS cw ON cw.dimension = 'complexity' AND cw.level = lower(c.complexity)
LEFT JOIN level_weights AS rw ON rw.dimension = 'risk' AND rw.level = lower(c.risk)
