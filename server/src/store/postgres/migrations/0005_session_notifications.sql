-- Schema version 5: every write to a session notifies the replicas.
--
-- A server caches live sessions; a session written by another replica
-- must reach that cache within 50 ms. Each inserted or updated row
-- notifies `login_sessions_sessions` from the writing transaction, so the
-- notification leaves exactly when the write is committed, naming the
-- session and its user (`id`, or `id` LF `user_id`); every listening
-- replica forgets what it holds of them (store/postgres/watch.rs). Bulk
-- loads set `login_sessions.bulk_load` for their transaction and notify
-- once, `*`: forget every session.
CREATE FUNCTION login_sessions_session_written() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('login_sessions.bulk_load', true) IS DISTINCT FROM 'on' THEN
        PERFORM pg_notify('login_sessions_sessions',
                          NEW.id || coalesce(chr(10) || NEW.user_id, ''));
        IF TG_OP = 'UPDATE' AND OLD.user_id IS DISTINCT FROM NEW.user_id
           AND OLD.user_id IS NOT NULL THEN
            PERFORM pg_notify('login_sessions_sessions', OLD.id || chr(10) || OLD.user_id);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER sessions_written
    AFTER INSERT OR UPDATE ON sessions
    FOR EACH ROW EXECUTE FUNCTION login_sessions_session_written();
