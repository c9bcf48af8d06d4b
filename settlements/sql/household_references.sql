-- The ledger's references to households, checked per statement (loaded by migration settlements
-- 0020; every statement here can be run again; since 0022 the entries' households are checked by
-- money_check_entry_references in money_partitions.sql, with their other references). Journal
-- entries and wallet accounts name their household without a foreign key: the key's look-up and FOR KEY SHARE row lock per inserted row
-- cost a national credit run a sixth of its time (docs/benchmarks.md, "Where a credit run's time
-- goes"), and a lock per household dirties the whole household table once a month. Instead:
-- - every statement that inserts entries or accounts names only households that exist (one join of
--   the statement's new rows, at its end);
-- - an account's household never changes (entries never change at all: append-only);
-- - a household that an entry or an account names is never deleted. The delete waits for every
--   transaction writing entries or accounts to end, and keeps new ones waiting until it ends, so an
--   entry written concurrently is either seen by its check or sees the household gone.
-- The look-ups go by primary key whatever the statistics say (enable_seqscan off): a plan made
-- while a table was nearly empty must not turn a chunk's check into a nested scan of it.

CREATE OR REPLACE FUNCTION settlements_check_households_exist() RETURNS trigger AS $$
DECLARE
    missing bigint;
BEGIN
    SELECT n.household_id INTO missing FROM new_rows n
        WHERE n.household_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM households_household h WHERE h.id = n.household_id) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '% names household %, which does not exist', TG_TABLE_NAME, missing
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_TABLE_NAME || '_household_exists';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SET enable_seqscan = off;

CREATE OR REPLACE TRIGGER account_households_exist AFTER INSERT ON settlements_account
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION settlements_check_households_exist();

CREATE OR REPLACE FUNCTION settlements_refuse_account_owner_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger account % keeps its household: % refused', OLD.id, NEW.household_id
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE TRIGGER account_household_never_changes BEFORE UPDATE OF household_id ON settlements_account
    FOR EACH ROW WHEN (OLD.household_id IS DISTINCT FROM NEW.household_id)
    EXECUTE FUNCTION settlements_refuse_account_owner_change();

CREATE OR REPLACE FUNCTION settlements_refuse_household_delete() RETURNS trigger AS $$
DECLARE
    named bigint;
BEGIN
    -- SHARE conflicts with the ROW EXCLUSIVE lock every writer of these tables holds until it
    -- ends; each statement below then reads with a snapshot taken after they committed.
    LOCK TABLE settlements_journalentry, settlements_account IN SHARE MODE;
    SELECT o.id INTO named FROM old_rows o
        WHERE EXISTS (SELECT 1 FROM settlements_account a WHERE a.household_id = o.id)
           OR EXISTS (SELECT 1 FROM settlements_journalentry e WHERE e.household_id = o.id) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'household % is named by the ledger: it is never deleted', named
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'ledger_household_kept';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SET enable_seqscan = off;

CREATE OR REPLACE TRIGGER household_named_by_ledger_kept AFTER DELETE ON households_household
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION settlements_refuse_household_delete();

CREATE OR REPLACE FUNCTION settlements_refuse_household_key_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'household % keeps its id: the ledger names it', OLD.id
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE TRIGGER household_key_never_changes BEFORE UPDATE OF id ON households_household
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION settlements_refuse_household_key_change();
