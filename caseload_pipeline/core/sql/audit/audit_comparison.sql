-- Each team of an audit against its own figure in the previous audit, or,
-- when it has none, its predecessor's through team_lineage (following the
-- chain, using lineage rows in force from that audit on). Teams with no
-- match are 'new'. |change| < 0.05 counts as unchanged (SPEC 5).
WITH RECURSIVE candidates AS (
    SELECT t.audit, t.team, t.team AS candidate, 0 AS depth
    FROM audit_team_averages AS t
    UNION ALL
    SELECT c.audit, c.team, l.predecessor, c.depth + 1
    FROM candidates AS c
    JOIN team_lineage AS l ON l.team = c.candidate AND l.predecessor <> l.team
    JOIN audits AS lineage_audit ON lineage_audit.audit = l.from_audit
    JOIN audits AS this_audit ON this_audit.audit = c.audit
    WHERE lineage_audit.first_month <= this_audit.first_month AND c.depth < 10
),
matched AS (
    SELECT
        c.audit, c.team, c.candidate AS previous_team,
        p.avg_caseload AS previous_avg_caseload, p.source AS previous_source
    FROM candidates AS c
    JOIN audits AS a ON a.audit = c.audit
    JOIN audit_team_averages AS p ON p.audit = a.previous_audit AND p.team = c.candidate
    QUALIFY row_number() OVER (PARTITION BY c.audit, c.team ORDER BY c.depth) = 1
)
SELECT
    t.audit,
    t.team,
    a.previous_audit,
    m.previous_team,
    t.avg_caseload,
    m.previous_avg_caseload,
    t.avg_caseload - m.previous_avg_caseload AS change,
    100 * (t.avg_caseload - m.previous_avg_caseload) / nullif(m.previous_avg_caseload, 0)
        AS pct_change,
    CASE
        WHEN m.previous_avg_caseload IS NULL THEN 'new'
        WHEN abs(t.avg_caseload - m.previous_avg_caseload) < 0.05 THEN 'unchanged'
        WHEN t.avg_caseload > m.previous_avg_caseload THEN 'increased'
        ELSE 'decreased'
    END AS direction,
    m.previous_source
FROM audit_team_averages AS t
JOIN audits AS a ON a.audit = t.audit
LEFT JOIN matched AS m ON m.audit = t.audit AND m.team = t.team
WHERE a.previous_audit IS NOT NULL
