/**
 * Schema of the PostgreSQL event store. Each event records the id of the transaction that
 * wrote it (xid8); readers only take events from transactions older than the oldest one still
 * running (pg_snapshot_xmin), so a sequence value that commits late is never skipped.
 */
export const eventStoreSchemaSql = `
CREATE TABLE IF NOT EXISTS es_streams (
  stream_id text PRIMARY KEY,
  revision bigint NOT NULL DEFAULT -1
);

CREATE TABLE IF NOT EXISTS es_events (
  global_position bigserial PRIMARY KEY,
  transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
  stream_id text NOT NULL,
  stream_revision bigint NOT NULL,
  event_id uuid NOT NULL UNIQUE,
  event_type text NOT NULL,
  data jsonb NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (stream_id, stream_revision)
);

CREATE INDEX IF NOT EXISTS es_events_tx_position ON es_events (transaction_id, global_position);
-- Recent events of some types (readRecent: the revocation list rebuilt after Redis lost it)
-- without a scan of the whole log; it also serves any lookup by type, which es_events_type did.
CREATE INDEX IF NOT EXISTS es_events_type_created_at ON es_events (event_type, created_at);
DROP INDEX IF EXISTS es_events_type;

-- One round trip per append: check the expected revision under a row lock, insert, bump.
CREATE OR REPLACE FUNCTION es_append(
  p_stream text, p_mode text, p_expected bigint,
  p_ids uuid[], p_types text[], p_data jsonb[], p_meta jsonb[]
) RETURNS TABLE (ok boolean, actual bigint, tx xid8, last_position bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_rev bigint;
  v_pos bigint;
BEGIN
  INSERT INTO es_streams (stream_id) VALUES (p_stream) ON CONFLICT DO NOTHING;
  SELECT s.revision INTO v_rev FROM es_streams s WHERE s.stream_id = p_stream FOR UPDATE;
  IF (p_mode = 'no_stream' AND v_rev <> -1)
     OR (p_mode = 'exists' AND v_rev = -1)
     OR (p_mode = 'revision' AND v_rev <> p_expected) THEN
    RETURN QUERY SELECT false, v_rev, NULL::xid8, NULL::bigint;
    RETURN;
  END IF;
  WITH ins AS (
    INSERT INTO es_events (stream_id, stream_revision, event_id, event_type, data, metadata)
    SELECT p_stream, v_rev + i, p_ids[i], p_types[i], p_data[i], p_meta[i]
    FROM generate_subscripts(p_ids, 1) AS i ORDER BY i
    RETURNING global_position
  ) SELECT max(global_position) INTO v_pos FROM ins;
  UPDATE es_streams SET revision = v_rev + cardinality(p_ids) WHERE stream_id = p_stream;
  PERFORM pg_notify('es_appended', pg_current_xact_id()::text || '/' || v_pos::text);
  RETURN QUERY SELECT true, v_rev + cardinality(p_ids), pg_current_xact_id(), v_pos;
END
$fn$;
`;
