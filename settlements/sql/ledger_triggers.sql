-- The ledger's guards (loaded by migrations settlements 0002, 0018, 0020, 0021, 0022 and 0023; every
-- statement here can be run again): journal entries and postings are append-only, accounts are
-- never deleted, and every statement that inserts postings leaves each entry it touches balanced
-- and names only entries and accounts that exist. That last check stands in for the postings' two
-- foreign keys: one join of the statement's new rows instead of a look-up and a row lock per
-- posting, which cost a national credit run a sixth of its time (docs/benchmarks.md, "Where a
-- credit run's time goes"). Nothing can remove an entry or an account a posting names afterwards:
-- both refuse DELETE. The look-ups go by primary key whatever the statistics say (enable_seqscan
-- off, loaded again by 0020): a plan cached while the accounts table was nearly empty (a first
-- national run) must not scan it once per posting.

CREATE OR REPLACE FUNCTION settlements_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused (post a reversing entry instead)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE TRIGGER journalentry_append_only BEFORE UPDATE OR DELETE ON settlements_journalentry
    FOR EACH ROW EXECUTE FUNCTION settlements_refuse_change();
CREATE OR REPLACE TRIGGER posting_append_only BEFORE UPDATE OR DELETE ON settlements_posting
    FOR EACH ROW EXECUTE FUNCTION settlements_refuse_change();

CREATE OR REPLACE FUNCTION settlements_refuse_account_delete() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger account % is never deleted: its postings name it', OLD.id
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE TRIGGER account_never_deleted BEFORE DELETE ON settlements_account
    FOR EACH ROW EXECUTE FUNCTION settlements_refuse_account_delete();

CREATE OR REPLACE FUNCTION settlements_check_balanced() RETURNS trigger AS $$
DECLARE
    unbalanced bigint;
    missing bigint;
    posting record;
    previous bigint;
    month date;
    rows_seen integer := 0;
BEGIN
    SELECT entry_id INTO unbalanced FROM new_postings GROUP BY entry_id HAVING sum(amount_rial) <> 0 LIMIT 1;
    IF unbalanced IS NOT NULL THEN
        RAISE EXCEPTION 'journal entry % does not balance: its postings must sum to zero', unbalanced
            USING ERRCODE = 'check_violation', CONSTRAINT = 'entry_postings_sum_to_zero';
    END IF;
    -- By (id, period): a posting lives in its entry's month, and names that month's partition. Up
    -- to 8 postings (a checkout's) are looked up one by one, each entry once, the month a value
    -- the plan starts with, so only that month's partition is opened (money_partitions.sql, which
    -- says why the plan is kept); more in one join.
    FOR posting IN SELECT p.entry_id, p.period FROM new_postings p LIMIT 9 LOOP
        rows_seen := rows_seen + 1;
        EXIT WHEN rows_seen > 8;
        CONTINUE WHEN posting.entry_id = previous;
        previous := posting.entry_id;
        PERFORM 1 FROM settlements_journalentry e WHERE e.id = posting.entry_id AND e.period = posting.period;
        CONTINUE WHEN FOUND;
        RAISE EXCEPTION 'a posting names journal entry % in its month, which does not exist', posting.entry_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'posting_entry_exists';
    END LOOP;
    IF rows_seen > 8 THEN
        -- More (a run's: two postings an entry, one month): each entry once, one month at a time
        -- with the month a value the plan starts with, so the look-ups open that month's
        -- partition only; the month taken from each posting would prune the partitions again at
        -- every look-up.
        FOR month IN SELECT DISTINCT p.period FROM new_postings p LOOP
            SELECT d.entry_id INTO missing
                FROM (SELECT DISTINCT p.entry_id FROM new_postings p WHERE p.period = month) d
                WHERE NOT EXISTS (SELECT 1 FROM settlements_journalentry e
                                  WHERE e.id = d.entry_id AND e.period = month) LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION 'a posting names journal entry % in its month, which does not exist', missing
                    USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'posting_entry_exists';
            END IF;
        END LOOP;
    END IF;
    -- Each account once (a run's postings name one fund account and a wallet an entry).
    SELECT d.account_id INTO missing FROM (SELECT DISTINCT p.account_id FROM new_postings p) d
        WHERE NOT EXISTS (SELECT 1 FROM settlements_account a WHERE a.id = d.account_id) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'a posting names ledger account %, which does not exist', missing
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'posting_account_exists';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SET enable_seqscan = off SET plan_cache_mode = force_generic_plan;

CREATE OR REPLACE TRIGGER posting_entries_balance AFTER INSERT ON settlements_posting
    REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION settlements_check_balanced();
