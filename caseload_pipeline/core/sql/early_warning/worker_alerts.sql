-- Amber and red worker-months with how long each worker has been there
-- (docs/tables.md, worker_alerts). A streak runs over the loaded months in
-- order: a month that was not loaded at all is stepped over (it says nothing
-- about the worker), while a loaded month in which the worker is green, off the
-- roster or not case-holding ends it. The streak follows worker_key, so a move
-- to another team does not end it; each row shows that month's team.
WITH loaded AS (
    SELECT month, row_number() OVER (ORDER BY month) AS position
    FROM (SELECT DISTINCT month FROM worker_monthly)
),
over_green AS (
    SELECT w.month, w.worker_key, w.team, w.role, w.fte, w.utilisation, w.band, l.position
    FROM worker_monthly AS w
    JOIN loaded AS l USING (month)
    WHERE w.band IN ('amber', 'red')
),
runs AS (
    -- Within an unbroken run, position minus the row's rank is the same number.
    SELECT *,
        position - row_number() OVER (PARTITION BY worker_key, band ORDER BY month)
            AS band_run,
        position - row_number() OVER (PARTITION BY worker_key ORDER BY month)
            AS above_green_run
    FROM over_green
)
SELECT
    month,
    worker_key,
    team,
    role,
    fte,
    utilisation,
    band,
    row_number() OVER (PARTITION BY worker_key, band, band_run ORDER BY month)::INTEGER
        AS consecutive_months,
    min(month) OVER (PARTITION BY worker_key, band, band_run) AS since_month,
    row_number() OVER (PARTITION BY worker_key, above_green_run ORDER BY month)::INTEGER
        AS above_green_months,
    min(month) OVER (PARTITION BY worker_key, above_green_run) AS above_green_since
FROM runs
