-- Each team of an audit against its own figure in the previous audit, or,
-- when it has none, its predecessor's through team_lineage, following the
-- chain. For each audit a team has at most one predecessor: the lineage row in
-- force from the latest audit not after it (reference.py refuses two
-- predecessors from the same audit). Teams with no match are 'new'.
--
-- direction: |change| < 0.05 is unchanged (SPEC 5), judged on the change
-- rounded to 9 decimal places, so that float noise cannot decide it: 20.65
-- against 20.6 is a change of 0.05 and 'increased', though the doubles'
-- difference is 0.04999999999999716.
WITH RECURSIVE in_force AS (
    SELECT this_audit.audit, l.team, l.predecessor
    FROM team_lineage AS l
    JOIN audits AS lineage_audit ON lineage_audit.audit = l.from_audit
    JOIN audits AS this_audit ON lineage_audit.first_month <= this_audit.first_month
    WHERE l.predecessor <> l.team
    QUALIFY row_number() OVER (
        PARTITION BY this_audit.audit, l.team
        ORDER BY lineage_audit.first_month DESC, l.predecessor) = 1
),
candidates AS (
    SELECT t.audit, t.team, t.team AS candidate, 0 AS depth
    FROM audit_team_averages AS t
    UNION ALL
    SELECT c.audit, c.team, l.predecessor, c.depth + 1
    FROM candidates AS c
    JOIN in_force AS l ON l.audit = c.audit AND l.team = c.candidate
    WHERE c.depth < 10
),
matched AS (
    SELECT
        c.audit, c.team, c.candidate AS previous_team,
        p.avg_caseload AS previous_avg_caseload, p.source AS previous_source
    FROM candidates AS c
    JOIN audits AS a ON a.audit = c.audit
    JOIN audit_team_averages AS p ON p.audit = a.previous_audit AND p.team = c.candidate
    QUALIFY row_number() OVER (PARTITION BY c.audit, c.team ORDER BY c.depth) = 1
),
compared AS (
    SELECT
        t.audit,
        t.team,
        a.previous_audit,
        m.previous_team,
        t.avg_caseload,
        m.previous_avg_caseload,
        t.avg_caseload - m.previous_avg_caseload AS change,
        m.previous_source
    FROM audit_team_averages AS t
    JOIN audits AS a ON a.audit = t.audit
    LEFT JOIN matched AS m ON m.audit = t.audit AND m.team = t.team
    WHERE a.previous_audit IS NOT NULL
)
SELECT
    audit,
    team,
    previous_audit,
    previous_team,
    avg_caseload,
    previous_avg_caseload,
    change,
    100 * change / nullif(previous_avg_caseload, 0) AS pct_change,
    CASE
        WHEN previous_avg_caseload IS NULL THEN 'new'
        WHEN abs(round(change, 9)) < 0.05 THEN 'unchanged'
        WHEN change > 0 THEN 'increased'
        ELSE 'decreased'
    END AS direction,
    previous_source
FROM compared
