-- The analyst tables (SPEC 6). Column names are a public interface: change
-- them only with a note in docs/tables.md. `month` is the first day of the month.
-- No PRIMARY KEY constraints: validation guarantees the grains before a month
-- is loaded, and an index over 64-character keys would cost more time and
-- memory at load than the whole rest of the month.

CREATE TABLE IF NOT EXISTS allocations (
    month DATE NOT NULL,
    case_key VARCHAR NOT NULL,
    worker_key VARCHAR NOT NULL,
    team VARCHAR,                 -- roster team; the case system's team when not rostered
    role VARCHAR,
    complexity VARCHAR,           -- low / medium / high, NULL when not assessed
    risk VARCHAR,
    travel_minutes INTEGER,
    allocated_on DATE,
    case_weight DOUBLE,
    reassigned BOOLEAN,
    rostered BOOLEAN,
    case_system_team VARCHAR,
    snapshot_date DATE,
    reassignment_reason VARCHAR
);

CREATE TABLE IF NOT EXISTS staff (
    month DATE NOT NULL,
    worker_key VARCHAR NOT NULL,
    team VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    fte DOUBLE NOT NULL,
    case_holding BOOLEAN NOT NULL,
    protected_caseload BOOLEAN NOT NULL,
    capacity_points DOUBLE
);

CREATE TABLE IF NOT EXISTS worker_monthly (
    month DATE, worker_key VARCHAR, team VARCHAR, role VARCHAR, fte DOUBLE,
    cases INTEGER, weighted_caseload DOUBLE, capacity_points DOUBLE,
    utilisation DOUBLE, band VARCHAR
);

CREATE TABLE IF NOT EXISTS team_monthly (
    month DATE, team VARCHAR, workers INTEGER, fte DOUBLE, cases INTEGER,
    avg_caseload DOUBLE, avg_caseload_per_fte DOUBLE, avg_weighted_caseload DOUBLE,
    median_caseload DOUBLE, max_caseload INTEGER,
    reassigned_cases INTEGER, reassignment_rate DOUBLE
);

CREATE TABLE IF NOT EXISTS role_monthly (
    month DATE, role VARCHAR, workers INTEGER, fte DOUBLE, cases INTEGER,
    avg_caseload DOUBLE, avg_caseload_per_fte DOUBLE
);

CREATE TABLE IF NOT EXISTS audit_team_averages (
    audit VARCHAR, team VARCHAR, months_expected INTEGER, months_covered INTEGER,
    avg_caseload DOUBLE, avg_caseload_per_fte DOUBLE, avg_weighted_caseload DOUBLE,
    source VARCHAR
);

CREATE TABLE IF NOT EXISTS audit_role_averages (
    audit VARCHAR, role VARCHAR, months_expected INTEGER, months_covered INTEGER,
    avg_caseload DOUBLE, avg_caseload_per_fte DOUBLE, source VARCHAR
);

CREATE TABLE IF NOT EXISTS audit_comparison (
    audit VARCHAR, team VARCHAR, previous_audit VARCHAR, previous_team VARCHAR,
    avg_caseload DOUBLE, previous_avg_caseload DOUBLE, change DOUBLE, pct_change DOUBLE,
    direction VARCHAR, previous_source VARCHAR
);

CREATE TABLE IF NOT EXISTS staff_survey (year VARCHAR, pct_fair_and_manageable DOUBLE);

CREATE TABLE IF NOT EXISTS data_quality (
    month DATE, file VARCHAR, rule VARCHAR, severity VARCHAR, passed BOOLEAN,
    unexpected_count INTEGER, example_lines VARCHAR, message VARCHAR, checked_at TIMESTAMP,
    column_name VARCHAR
);

CREATE TABLE IF NOT EXISTS load_log (
    month DATE, file VARCHAR, sha256 VARCHAR, rows INTEGER, loaded_at TIMESTAMP, run_id VARCHAR
);

-- Reference data as loaded, so analysts and reports can join on it.
CREATE TABLE IF NOT EXISTS audits (
    audit VARCHAR, first_month DATE, last_month DATE, months_expected INTEGER,
    previous_audit VARCHAR
);
CREATE TABLE IF NOT EXISTS teams (team VARCHAR, service_area VARCHAR);
CREATE TABLE IF NOT EXISTS roles (role VARCHAR, capacity_points_per_fte DOUBLE);
CREATE TABLE IF NOT EXISTS team_lineage (team VARCHAR, predecessor VARCHAR, from_audit VARCHAR);
CREATE TABLE IF NOT EXISTS audit_baselines (
    audit VARCHAR, dimension VARCHAR, name VARCHAR, avg_caseload DOUBLE
);

-- Early warning (docs/tables.md): recomputed whole from worker_monthly after
-- months change. Keyed by worker_key only; nothing raw.
CREATE TABLE IF NOT EXISTS worker_alerts (
    month DATE, worker_key VARCHAR, team VARCHAR, role VARCHAR, fte DOUBLE,
    utilisation DOUBLE, band VARCHAR,          -- amber or red
    consecutive_months INTEGER, since_month DATE,   -- in a row in this band
    above_green_months INTEGER, above_green_since DATE  -- in a row amber or red
);

CREATE TABLE IF NOT EXISTS team_outlook (
    as_of_month DATE, team VARCHAR, horizon INTEGER, month DATE, method VARCHAR,
    utilisation DOUBLE, band VARCHAR,
    projected_utilisation DOUBLE, low DOUBLE, high DOUBLE,
    projected_band VARCHAR, high_band VARCHAR, may_enter_red BOOLEAN
);

CREATE TABLE IF NOT EXISTS outlook_backtest (
    as_of_month DATE, method VARCHAR, horizon INTEGER, forecasts INTEGER,
    mean_absolute_error DOUBLE, shown BOOLEAN
);

-- A keyed hash of a fixed text under the pseudonym key, so `caseload lookup` can
-- tell a wrong key from an unknown worker id. It reveals no more than worker_key.
CREATE TABLE IF NOT EXISTS pseudonym_check (fingerprint VARCHAR);
