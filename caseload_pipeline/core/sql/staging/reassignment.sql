-- An allocation (c, w) in month M is reassigned when case c was allocated in
-- M-1 and w was not one of its workers then (SPEC 5). Recomputed for the
-- months in refresh_months and the month after each, so loading months in any
-- order gives the same answer. With M-1 not loaded nothing counts as reassigned.
--
-- Only the rows whose flag changes are joined back for the update (after a
-- load, the newly reassigned ones): a million-row month then costs one pass
-- over its rows, not a second copy of them in memory. Months before the
-- recomputed ones are read only as far as they are "the month before".
WITH recomputed AS (
    SELECT month FROM refresh_months
    UNION SELECT (month + INTERVAL 1 MONTH)::DATE FROM refresh_months
),
before AS (
    SELECT month, case_key, worker_key FROM allocations
    WHERE month IN (SELECT (month - INTERVAL 1 MONTH)::DATE FROM recomputed)
)
UPDATE allocations
SET reassigned = flags.reassigned
FROM (
    SELECT a.month, a.case_key, a.worker_key, flag.reassigned
    FROM allocations AS a
    LEFT JOIN (SELECT DISTINCT month, case_key FROM before) AS previous_case
        ON previous_case.month = (a.month - INTERVAL 1 MONTH)::DATE
       AND previous_case.case_key = a.case_key
    LEFT JOIN before AS previous_pair
        ON previous_pair.month = (a.month - INTERVAL 1 MONTH)::DATE
       AND previous_pair.case_key = a.case_key
       AND previous_pair.worker_key = a.worker_key
    CROSS JOIN LATERAL (SELECT previous_case.case_key IS NOT NULL
                               AND previous_pair.case_key IS NULL AS reassigned) AS flag
    WHERE a.month IN (SELECT month FROM recomputed)
      AND a.reassigned IS DISTINCT FROM flag.reassigned
) AS flags
WHERE allocations.month = flags.month
  AND allocations.case_key = flags.case_key
  AND allocations.worker_key = flags.worker_key
