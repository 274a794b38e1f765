-- The roster of each month being loaded, typed, with canonical team and role
-- names and keyed ids. Reads the validated staging files that the temp table
-- months_to_load lists (load.py), all months at once; aliases resolve through
-- the temp tables team_alias / role_alias built from reference/. fold() is the
-- Python normalise.fold_name validation uses, called once per distinct name.
-- The joins are inner: validation guarantees every team and role resolves, and
-- load.py checks that every validated row was loaded.
WITH source AS (
    SELECT m.month, s.* EXCLUDE (filename)
    FROM read_parquet(getvariable('staff_paths'), filename = true, union_by_name = true) AS s
    JOIN months_to_load AS m ON m.staff_path = s.filename
),
team_names AS (
    SELECT raw.team AS raw_team, t.team
    FROM (SELECT DISTINCT team FROM source WHERE team IS NOT NULL) AS raw
    JOIN team_alias AS t ON t.folded = fold(raw.team)
),
role_names AS (
    SELECT raw.role AS raw_role, r.role
    FROM (SELECT DISTINCT role FROM source WHERE role IS NOT NULL) AS raw
    JOIN role_alias AS r ON r.folded = fold(raw.role)
)
SELECT
    s.month,
    pseudonym(s.worker_id) AS worker_key,
    t.team,
    r.role,
    s.fte::DOUBLE AS fte,
    parse_flag(s.case_holding, true) AS case_holding,
    parse_flag(s.protected_caseload, false) AS protected_caseload,
    roles.capacity_points_per_fte * s.fte::DOUBLE
        * CASE WHEN parse_flag(s.protected_caseload, false)
               THEN getvariable('protected_caseload_factor') ELSE 1 END AS capacity_points
FROM source AS s
JOIN team_names AS t ON t.raw_team = s.team
JOIN role_names AS r ON r.raw_role = s.role
JOIN roles ON roles.role = r.role
