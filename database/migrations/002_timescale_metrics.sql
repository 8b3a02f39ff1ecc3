-- TechScanIQ metrics store (METRICS_DATABASE_URL): performance and system time series with retention.
--
-- With the TimescaleDB extension (available and creatable): hypertables with 1-day chunks and retention
-- policies (performance_metrics 90 days, system_metrics 30 days).
-- Without it (plain PostgreSQL): native range partitions of one day (UTC) plus a DEFAULT partition, so
-- an insert never fails for lack of a partition, and a drop_chunks(regclass, interval) function with
-- TimescaleDB's meaning, so the guide's maintenance command works on both:
--     SELECT drop_chunks('performance_metrics', INTERVAL '90 days');
--     SELECT drop_chunks('system_metrics', INTERVAL '30 days');
-- On both, SELECT metrics_maintenance(); creates the coming days' partitions (native only) and applies the
-- retention; the application runs it at start and then hourly.
--
-- Idempotent: applying it again changes nothing. Safe when several replicas apply it at once.

SELECT pg_advisory_xact_lock(hashtext('techscaniq.002_timescale_metrics'));

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_available_extensions WHERE name = 'timescaledb')
       AND NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'timescaledb') THEN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS timescaledb;
        EXCEPTION WHEN OTHERS THEN  -- not preloaded, or this role may not create it
            RAISE NOTICE 'timescaledb cannot be enabled (%): using native partitions', SQLERRM;
        END;
    END IF;
END $$;

-- Create the day partitions of a time-partitioned table from `days_back` days ago to `days_ahead` days ahead
-- (UTC days, named <table>_pYYYYMMDD). Rows of those days already in the DEFAULT partition move into them.
-- Returns how many partitions it created. A no-op on tables that are not natively partitioned (hypertables).
CREATE OR REPLACE FUNCTION create_metric_partitions(parent regclass, days_ahead integer DEFAULT 7,
                                                    days_back integer DEFAULT 1)
RETURNS integer LANGUAGE plpgsql AS $fn$
DECLARE
    schema_name text;
    table_name text;
    time_column text;
    default_part regclass;
    day date;
    lower_bound timestamptz;
    part text;
    created integer := 0;
BEGIN
    SELECT n.nspname, c.relname INTO schema_name, table_name
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = parent AND c.relkind = 'p';
    IF table_name IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('techscaniq.metric_partitions:' || parent::oid));
    SELECT a.attname INTO time_column
      FROM pg_partitioned_table p JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
     WHERE p.partrelid = parent;
    SELECT c.oid::regclass INTO default_part
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = parent AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT';
    FOR day IN
        SELECT d::date FROM generate_series((now() AT TIME ZONE 'UTC')::date - days_back,
                                            (now() AT TIME ZONE 'UTC')::date + days_ahead, INTERVAL '1 day') AS d
    LOOP
        part := format('%s_p%s', table_name, to_char(day, 'YYYYMMDD'));
        CONTINUE WHEN to_regclass(format('%I.%I', schema_name, part)) IS NOT NULL;
        lower_bound := day::timestamp AT TIME ZONE 'UTC';
        EXECUTE format('CREATE TABLE %I.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                       schema_name, part, parent);
        IF default_part IS NOT NULL THEN
            EXECUTE format('WITH moved AS (DELETE FROM %s WHERE %I >= $1 AND %I < $2 RETURNING *) '
                           'INSERT INTO %I.%I SELECT * FROM moved', default_part, time_column, time_column,
                           schema_name, part)
              USING lower_bound, lower_bound + INTERVAL '1 day';
        END IF;
        EXECUTE format('ALTER TABLE %s ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)',
                       parent, schema_name, part, lower_bound, lower_bound + INTERVAL '1 day');
        created := created + 1;
    END LOOP;
    RETURN created;
END
$fn$;

DO $$
DECLARE
    timescale boolean := EXISTS (SELECT FROM pg_extension WHERE extname = 'timescaledb');
    partitioning text := CASE WHEN timescale THEN '' ELSE ' PARTITION BY RANGE (time)' END;
BEGIN
    IF to_regclass('performance_metrics') IS NULL THEN
        -- One row per scan, config and metric (the names of techscaniq.domain.performance). The key makes a
        -- re-delivered scan's points a no-op (INSERT ... ON CONFLICT DO NOTHING).
        EXECUTE 'CREATE TABLE performance_metrics (
                    time            timestamptz      NOT NULL,
                    organization_id text             NOT NULL,
                    config_id       text             NOT NULL,
                    scan_id         text             NOT NULL,
                    metric          text             NOT NULL,
                    value           double precision NOT NULL,
                    PRIMARY KEY (config_id, metric, time, scan_id)
                 )' || partitioning;
        EXECUTE 'CREATE INDEX performance_metrics_org_time ON performance_metrics (organization_id, time DESC)';
    END IF;
    IF to_regclass('system_metrics') IS NULL THEN
        -- Samples of the running system (per replica): queue depths, pool sizes, scan rates...
        EXECUTE 'CREATE TABLE system_metrics (
                    time        timestamptz      NOT NULL,
                    instance_id text             NOT NULL,
                    metric      text             NOT NULL,
                    value       double precision NOT NULL,
                    labels      jsonb            NOT NULL DEFAULT ''{}''
                 )' || partitioning;
        EXECUTE 'CREATE INDEX system_metrics_metric_time ON system_metrics (metric, time DESC)';
    END IF;

    IF timescale THEN
        PERFORM create_hypertable('performance_metrics', 'time', chunk_time_interval => INTERVAL '1 day',
                                  if_not_exists => TRUE, migrate_data => TRUE);
        PERFORM create_hypertable('system_metrics', 'time', chunk_time_interval => INTERVAL '1 day',
                                  if_not_exists => TRUE, migrate_data => TRUE);
        PERFORM add_retention_policy('performance_metrics', INTERVAL '90 days', if_not_exists => TRUE);
        PERFORM add_retention_policy('system_metrics', INTERVAL '30 days', if_not_exists => TRUE);
        RETURN;
    END IF;

    EXECUTE 'CREATE TABLE IF NOT EXISTS performance_metrics_default PARTITION OF performance_metrics DEFAULT';
    EXECUTE 'CREATE TABLE IF NOT EXISTS system_metrics_default PARTITION OF system_metrics DEFAULT';
    PERFORM create_metric_partitions('performance_metrics');
    PERFORM create_metric_partitions('system_metrics');

    -- TimescaleDB's drop_chunks(relation, older_than) for native partitions: drops every partition that ends
    -- at or before now() - older_than, deletes the rows that old from the DEFAULT partition, and returns the
    -- names of the dropped partitions.
    EXECUTE $create$
    CREATE OR REPLACE FUNCTION drop_chunks(relation regclass, older_than interval)
    RETURNS SETOF text LANGUAGE plpgsql AS $fn$
    DECLARE
        cutoff timestamptz := now() - older_than;
        time_column text;
        part regclass;
        bound text;
        upper_bound timestamptz;
    BEGIN
        SELECT a.attname INTO time_column
          FROM pg_partitioned_table p JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
         WHERE p.partrelid = relation;
        IF time_column IS NULL THEN
            RAISE EXCEPTION 'drop_chunks: % is not partitioned by time', relation
                USING HINT = 'apply database/migrations/002_timescale_metrics.sql to create it partitioned';
        END IF;
        FOR part, bound IN
            SELECT c.oid::regclass, pg_get_expr(c.relpartbound, c.oid)
              FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = relation
        LOOP
            IF bound = 'DEFAULT' THEN
                EXECUTE format('DELETE FROM %s WHERE %I < $1', part, time_column) USING cutoff;
                CONTINUE;
            END IF;
            upper_bound := substring(bound FROM $re$TO \('([^']+)'\)$re$)::timestamptz;
            IF upper_bound IS NOT NULL AND upper_bound <= cutoff THEN
                EXECUTE format('DROP TABLE %s', part);
                RETURN NEXT part::text;
            END IF;
        END LOOP;
    END
    $fn$
    $create$;
END $$;

-- Run at start and hourly by the application (and by hand whenever you like): upcoming partitions, retention.
CREATE OR REPLACE FUNCTION metrics_maintenance() RETURNS text LANGUAGE plpgsql AS $fn$
DECLARE
    created integer;
    dropped integer;
BEGIN
    created := create_metric_partitions('performance_metrics') + create_metric_partitions('system_metrics');
    SELECT count(*) INTO dropped FROM (
        SELECT drop_chunks('performance_metrics', INTERVAL '90 days')
        UNION ALL
        SELECT drop_chunks('system_metrics', INTERVAL '30 days')
    ) AS d;
    RETURN format('%s partitions created, %s dropped', created, dropped);
END
$fn$;
