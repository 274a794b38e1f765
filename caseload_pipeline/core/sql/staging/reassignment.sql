-- An allocation (c, w) in month M is reassigned when case c was allocated in
-- M-1 and w was not one of its workers then (SPEC 5). Recomputed for the
-- months in refresh_months and the month after each, so loading months in any
-- order gives the same answer. With M-1 not loaded nothing counts as reassigned.
UPDATE allocations
SET reassigned = flags.reassigned
FROM (
    SELECT
        a.month, a.case_key, a.worker_key,
        previous_case.case_key IS NOT NULL AND previous_pair.case_key IS NULL AS reassigned
    FROM allocations AS a
    LEFT JOIN (SELECT DISTINCT month, case_key FROM allocations) AS previous_case
        ON previous_case.month = (a.month - INTERVAL 1 MONTH)::DATE
       AND previous_case.case_key = a.case_key
    LEFT JOIN allocations AS previous_pair
        ON previous_pair.month = (a.month - INTERVAL 1 MONTH)::DATE
       AND previous_pair.case_key = a.case_key
       AND previous_pair.worker_key = a.worker_key
    WHERE a.month IN (SELECT month FROM refresh_months
                      UNION SELECT (month + INTERVAL 1 MONTH)::DATE FROM refresh_months)
) AS flags
WHERE allocations.month = flags.month
  AND allocations.case_key = flags.case_key
  AND allocations.worker_key = flags.worker_key
  AND allocations.reassigned IS DISTINCT FROM flags.reassigned
