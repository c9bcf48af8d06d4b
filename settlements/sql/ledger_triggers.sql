-- The ledger's guards (loaded by migration settlements 0002): journal entries and postings are
-- append-only, and every statement that inserts postings leaves each entry it touches balanced.

CREATE OR REPLACE FUNCTION settlements_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused (post a reversing entry instead)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER journalentry_append_only BEFORE UPDATE OR DELETE ON settlements_journalentry
    FOR EACH ROW EXECUTE FUNCTION settlements_refuse_change();
CREATE TRIGGER posting_append_only BEFORE UPDATE OR DELETE ON settlements_posting
    FOR EACH ROW EXECUTE FUNCTION settlements_refuse_change();

CREATE OR REPLACE FUNCTION settlements_check_balanced() RETURNS trigger AS $$
DECLARE
    unbalanced bigint;
BEGIN
    SELECT entry_id INTO unbalanced FROM new_postings GROUP BY entry_id HAVING sum(amount_rial) <> 0 LIMIT 1;
    IF unbalanced IS NOT NULL THEN
        RAISE EXCEPTION 'journal entry % does not balance: its postings must sum to zero', unbalanced
            USING ERRCODE = 'check_violation', CONSTRAINT = 'entry_postings_sum_to_zero';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER posting_entries_balance AFTER INSERT ON settlements_posting
    REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION settlements_check_balanced();
