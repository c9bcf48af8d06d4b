-- The references to the month-partitioned money tables (loaded by migrations settlements 0021
-- after the partitioning, and 0022; every statement here can be run again). A foreign key naming a
-- partitioned table must carry its partition key, the month, which the rows that name a purchase
-- or an entry do not hold; so each inserting statement's new rows are checked at once here, in one
-- join, and purchases refuse DELETE (entries and postings already do: ledger_triggers.sql), so
-- nothing a row names can go afterwards. Detaching a month for archive is the one way rows leave,
-- on purpose.
--
-- A look-up by id alone opens every month's partition (and its index) each time it runs, a cost
-- that grows with the months kept attached. A statement of a few rows (a checkout's) is therefore
-- checked row by row, each look-up given its month as a value the plan starts with, so that
-- PostgreSQL opens that month's partition alone: a posting's and a purchase entry's own month, and
-- for the rows that do not hold one (purchase lines, idempotency records) the month their writer
-- names for its transaction: SELECT set_config('kalabarg.money_period', '<first day>', true), as
-- the checkout does. A row not found in that month is looked for in every month: the month named
-- is a hint and nothing more. A statement of more than 8 rows (a run's, a settlement's) is checked in
-- one join, which opens each partition once for all its rows. These functions keep one plan per
-- look-up (plan_cache_mode): left to choose, PostgreSQL plans the look-up again on every call,
-- because a plan made for one month looks cheaper than the plan for any month, and planning a
-- look-up reads every partition's indexes.

-- The month named by the writer of this transaction, or NULL.
CREATE OR REPLACE FUNCTION money_period_hint() RETURNS date AS $$
    SELECT NULLIF(current_setting('kalabarg.money_period', true), '')::date
$$ LANGUAGE sql STABLE;

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
    previous bigint;
    hint date := money_period_hint();
    rows_seen integer := 0;
BEGIN
    -- Up to 8 rows: each purchase in the month the writer names, then in every month (the lines
    -- of one purchase come together: each purchase is looked up once).
    FOR missing IN SELECT n.purchase_id FROM new_rows n WHERE n.purchase_id IS NOT NULL LIMIT 9 LOOP
        rows_seen := rows_seen + 1;
        EXIT WHEN rows_seen > 8;
        CONTINUE WHEN missing = previous;
        previous := missing;
        PERFORM 1 FROM stores_purchase p WHERE p.id = missing AND p.period = hint;
        CONTINUE WHEN FOUND;
        PERFORM 1 FROM stores_purchase p WHERE p.id = missing;
        CONTINUE WHEN FOUND;
        RAISE EXCEPTION 'a row of % names purchase %, which does not exist', TG_TABLE_NAME, missing
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_TABLE_NAME || '_purchase_exists';
    END LOOP;
    IF rows_seen <= 8 THEN
        RETURN NULL;
    END IF;
    SELECT n.purchase_id INTO missing FROM new_rows n
        WHERE n.purchase_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM stores_purchase p WHERE p.id = n.purchase_id) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'a row of % names purchase %, which does not exist', TG_TABLE_NAME, missing
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_TABLE_NAME || '_purchase_exists';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan;

CREATE OR REPLACE TRIGGER purchaseline_purchase_exists AFTER INSERT ON stores_purchaseline
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION money_check_purchase_named();
CREATE OR REPLACE TRIGGER idempotencyrecord_purchase_exists AFTER INSERT ON stores_idempotencyrecord
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION money_check_purchase_named();
CREATE OR REPLACE TRIGGER settlementline_purchase_exists AFTER INSERT ON settlements_settlementline
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION money_check_purchase_named();

-- New journal entries: the household, the purchase and the entry each names exist (the households'
-- check moved here from household_references.sql in 0022: one trigger call per statement fewer,
-- which a one-entry statement such as a checkout's feels). One anti-join per reference: OR-ing
-- them in one query would turn each into a hashed subplan reading the whole table. The look-ups
-- go by primary key whatever the statistics say (see household_references.sql).
CREATE OR REPLACE FUNCTION money_check_entry_references() RETURNS trigger AS $$
DECLARE
    missing bigint;
    entry record;
    rows_seen integer := 0;
BEGIN
    -- Up to 8 entries (a checkout's, a reversal's): each reference looked up on its own, a
    -- purchase in the entry's month first (a purchase's entry shares its month; a reversal's
    -- does not), then in every month.
    FOR entry IN SELECT n.household_id, n.purchase_id, n.period, n.reverses_id FROM new_entries n LIMIT 9 LOOP
        rows_seen := rows_seen + 1;
        EXIT WHEN rows_seen > 8;
        IF entry.household_id IS NOT NULL THEN
            PERFORM 1 FROM households_household h WHERE h.id = entry.household_id;
            IF NOT FOUND THEN
                RAISE EXCEPTION '% names household %, which does not exist', TG_TABLE_NAME, entry.household_id
                    USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_TABLE_NAME || '_household_exists';
            END IF;
        END IF;
        IF entry.purchase_id IS NOT NULL THEN
            PERFORM 1 FROM stores_purchase p WHERE p.id = entry.purchase_id AND p.period = entry.period;
            IF NOT FOUND THEN
                PERFORM 1 FROM stores_purchase p WHERE p.id = entry.purchase_id;
                IF NOT FOUND THEN
                    RAISE EXCEPTION 'a journal entry names purchase %, which does not exist', entry.purchase_id
                        USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'entry_purchase_exists';
                END IF;
            END IF;
        END IF;
        IF entry.reverses_id IS NOT NULL THEN
            PERFORM 1 FROM settlements_journalentry e WHERE e.id = entry.reverses_id;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'a journal entry reverses entry %, which does not exist', entry.reverses_id
                    USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'entry_reverses_exists';
            END IF;
        END IF;
    END LOOP;
    IF rows_seen <= 8 THEN
        RETURN NULL;
    END IF;
    -- More (a run's): one join per reference.
    SELECT n.household_id INTO missing FROM new_entries n
        WHERE n.household_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM households_household h WHERE h.id = n.household_id) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '% names household %, which does not exist', TG_TABLE_NAME, missing
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_TABLE_NAME || '_household_exists';
    END IF;
    SELECT n.purchase_id INTO missing FROM new_entries n
        WHERE n.purchase_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM stores_purchase p WHERE p.id = n.purchase_id) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'a journal entry names purchase %, which does not exist', missing
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'entry_purchase_exists';
    END IF;
    -- Only a reversal names an entry: a run's statement never opens the entries' partitions here.
    PERFORM 1 FROM new_entries n WHERE n.reverses_id IS NOT NULL LIMIT 1;
    IF FOUND THEN
        SELECT n.reverses_id INTO missing FROM new_entries n
            WHERE n.reverses_id IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM settlements_journalentry e WHERE e.id = n.reverses_id) LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'a journal entry reverses entry %, which does not exist', missing
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'entry_reverses_exists';
        END IF;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SET enable_seqscan = off SET plan_cache_mode = force_generic_plan;

CREATE OR REPLACE TRIGGER journalentry_references_exist AFTER INSERT ON settlements_journalentry
    REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION money_check_entry_references();
DROP TRIGGER IF EXISTS journalentry_households_exist ON settlements_journalentry;
