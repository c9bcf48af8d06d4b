-- The references to the month-partitioned money tables (loaded by migration settlements 0021 after
-- the partitioning; every statement here can be run again). A foreign key naming a partitioned
-- table must carry its partition key, the month, which the rows that name a purchase or an entry
-- do not hold; so each inserting statement's new rows are checked at once here, in one join, and
-- purchases refuse DELETE (entries and postings already do: ledger_triggers.sql), so nothing a
-- row names can go afterwards. Detaching a month for archive is the one way rows leave, on purpose.

CREATE OR REPLACE FUNCTION money_refuse_purchase_delete() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'purchase % is never deleted: a reversal undoes it', OLD.id
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE TRIGGER purchase_never_deleted BEFORE DELETE ON stores_purchase
    FOR EACH ROW EXECUTE FUNCTION money_refuse_purchase_delete();

-- Any table's new rows naming a purchase by purchase_id (purchase lines, idempotency records,
-- settlement lines): every one must exist.
CREATE OR REPLACE FUNCTION money_check_purchase_named() RETURNS trigger AS $$
DECLARE
    missing bigint;
BEGIN
    SELECT n.purchase_id INTO missing FROM new_rows n
        WHERE n.purchase_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM stores_purchase p WHERE p.id = n.purchase_id) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'a row of % names purchase %, which does not exist', TG_TABLE_NAME, missing
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_TABLE_NAME || '_purchase_exists';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE TRIGGER purchaseline_purchase_exists AFTER INSERT ON stores_purchaseline
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION money_check_purchase_named();
CREATE OR REPLACE TRIGGER idempotencyrecord_purchase_exists AFTER INSERT ON stores_idempotencyrecord
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION money_check_purchase_named();
CREATE OR REPLACE TRIGGER settlementline_purchase_exists AFTER INSERT ON settlements_settlementline
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION money_check_purchase_named();

-- New journal entries: the purchase each names exists, and so does the entry it reverses.
CREATE OR REPLACE FUNCTION money_check_entry_references() RETURNS trigger AS $$
DECLARE
    missing bigint;
BEGIN
    SELECT n.purchase_id INTO missing FROM new_entries n
        WHERE n.purchase_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM stores_purchase p WHERE p.id = n.purchase_id) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'a journal entry names purchase %, which does not exist', missing
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'entry_purchase_exists';
    END IF;
    SELECT n.reverses_id INTO missing FROM new_entries n
        WHERE n.reverses_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM settlements_journalentry e WHERE e.id = n.reverses_id) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'a journal entry reverses entry %, which does not exist', missing
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'entry_reverses_exists';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE TRIGGER journalentry_references_exist AFTER INSERT ON settlements_journalentry
    REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION money_check_entry_references();
