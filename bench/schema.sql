-- The contract's table, exactly. Recreated from scratch by `reseed.sh --schema`;
-- bench/run.sh then starts the service once, whose auto-migration adds its own
-- columns (with defaults), indexes, tables and triggers, before the ceiling and the
-- service are measured. The service's own tables and functions go too, so that
-- every start after --schema migrates a database as new as the contract's.
DROP TABLE IF EXISTS idempotency_keys, task_tombstones, tasks, lists, user_usage CASCADE;
DO $$
DECLARE fn regprocedure;
BEGIN
    FOR fn IN SELECT oid::regprocedure FROM pg_proc
        WHERE pronamespace = current_schema()::regnamespace AND proname LIKE 'todo\_%'
    LOOP
        EXECUTE 'DROP FUNCTION ' || fn || ' CASCADE';
    END LOOP;
END $$;
CREATE TABLE tasks (
    id          bigserial PRIMARY KEY,
    user_id     text         NOT NULL,
    title       varchar(200) NOT NULL,
    description text         NULL,
    completed   boolean      NOT NULL DEFAULT false,
    priority    text         NOT NULL DEFAULT 'medium',
    due_date    timestamptz  NULL,
    created_at  timestamptz  NOT NULL,
    updated_at  timestamptz  NOT NULL
);
CREATE INDEX idx_tasks_user_created ON tasks (user_id, created_at DESC, id DESC);
