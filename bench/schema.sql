-- The contract's table, exactly. Recreated from scratch by `reseed.sh --schema`;
-- bench/run.sh then starts the service once, whose auto-migration adds its own
-- columns (with defaults) and indexes, before the ceiling and the service are measured.
DROP TABLE IF EXISTS idempotency_keys;
DROP TABLE IF EXISTS tasks;
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
