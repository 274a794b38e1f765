-- The month's roster, typed, with canonical team and role names and keyed ids.
-- Reads the validated staging file; aliases resolve through the temp tables
-- team_alias / role_alias built from reference/.
SELECT
    getvariable('month')::DATE AS month,
    pseudonym(s.worker_id) AS worker_key,
    t.team,
    r.role,
    s.fte::DOUBLE AS fte,
    parse_flag(s.case_holding, true) AS case_holding,
    parse_flag(s.protected_caseload, false) AS protected_caseload,
    roles.capacity_points_per_fte * s.fte::DOUBLE
        * CASE WHEN parse_flag(s.protected_caseload, false)
               THEN getvariable('protected_caseload_factor') ELSE 1 END AS capacity_points
FROM read_parquet(getvariable('staff_path')) AS s
JOIN team_alias AS t ON t.folded = fold(s.team)
JOIN role_alias AS r ON r.folded = fold(s.role)
JOIN roles ON roles.role = r.role
