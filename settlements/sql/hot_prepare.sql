-- kalabarg_prepare: prepare a statement under a name on this session unless it already is.
--
-- Behind PgBouncer in transaction mode a client's statements run on whichever server connection
-- the pooler lends it for that transaction, so the protocol's prepared statements (named per
-- client connection) cannot be kept. The POS hot path (kalabarg/lib/hot_sql.py) instead names
-- each statement after its text and sends, in one simple query, "SELECT kalabarg_prepare(name,
-- text); EXECUTE name(args)": both run on the one server connection, the first prepares the
-- statement there only the first time that connection sees it, and a statement of the same name
-- is always the same text, whichever client prepared it. PREPARE is not transactional, so the
-- statement stays for the connection's life (PgBouncer's server_lifetime).
CREATE OR REPLACE FUNCTION kalabarg_prepare(p_name text, p_statement text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_prepared_statements WHERE name = p_name) THEN
        EXECUTE format('PREPARE %I AS %s', p_name, p_statement);
    END IF;
END
$$;
