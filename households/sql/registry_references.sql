-- The registry's high-volume references, checked per statement (loaded by migrations households
-- 0011 and 0012; every statement here can be run again). A person names their household, a decile
-- assignment its household and a bank card its person without a foreign key: each key cost a
-- look-up and a WAL-logged FOR KEY SHARE lock on the parent per inserted row, at commit, about a
-- sixth of the server's time when the generator loads a chunk (docs/benchmarks.md, "Synthetic
-- population"). Instead, as the ledger does for households (settlements/sql/
-- household_references.sql):
-- - every statement that inserts people, decile assignments or cards names only parents that
--   exist (one join of the statement's new rows, at its end);
-- - a card moved to another person (the banks' card-owner feed, households.card_import, moves a
--   card whose owner changed) names a person who exists: a row trigger, as moves are few and a
--   statement trigger with a transition table cannot be limited to the column, so it would copy
--   every status change too;
-- - a person's and a decile's household never changes (nothing moves them: the registry import
--   refuses a person already in another household), and neither does a household's or a
--   person's id;
-- - a household named by a person or a decile assignment, or a person named by a card, is never
--   deleted. The delete waits for every transaction writing the children to end, and keeps new
--   ones waiting until it ends, so a child written concurrently is either seen by its check or
--   sees its parent gone. Django's collector deletes the children first, so an ORM delete of a
--   household with its people, deciles and cards passes.
-- The refusals carry the name of the constraint they stand for (person_household_exists,
-- decile_household_exists, card_person_exists), as a foreign key's would.
--
-- The new rows' check is one index probe of the parent's primary key per row, whatever the
-- statistics say: nested loops only. For a generator chunk (175,000 people naming 50,000 of
-- 950,000 households) the probes took 0.15-0.24 s; a hash anti join hashes the whole parent
-- table (0.3-0.7 s) and a merge join sorts the new rows and reads the whole primary key
-- (0.2-0.7 s), both growing with the registry while the probes do not. In the chunk's COPYs, hash
-- anti joins cost 1.5 s more backend CPU than the probes (the cards' check hashes every person).
-- A one-row insert is one probe.

CREATE OR REPLACE FUNCTION households_check_household_exists() RETURNS trigger AS $$
DECLARE
    missing bigint;
BEGIN
    SELECT n.household_id INTO missing FROM new_rows n
        WHERE NOT EXISTS (SELECT 1 FROM households_household h WHERE h.id = n.household_id) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '% names household %, which does not exist', TG_TABLE_NAME, missing
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_ARGV[0];
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off;

CREATE OR REPLACE TRIGGER person_household_exists AFTER INSERT ON households_person
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION households_check_household_exists('person_household_exists');
CREATE OR REPLACE TRIGGER decile_household_exists AFTER INSERT ON households_decileassignment
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION households_check_household_exists('decile_household_exists');

CREATE OR REPLACE FUNCTION households_check_person_exists() RETURNS trigger AS $$
DECLARE
    missing bigint;
BEGIN
    SELECT n.person_id INTO missing FROM new_rows n
        WHERE NOT EXISTS (SELECT 1 FROM households_person p WHERE p.id = n.person_id) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '% names person %, which does not exist', TG_TABLE_NAME, missing
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'card_person_exists';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off;

CREATE OR REPLACE TRIGGER card_person_exists AFTER INSERT ON households_bankcard
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION households_check_person_exists();

CREATE OR REPLACE FUNCTION households_check_moved_card_owner() RETURNS trigger AS $$
BEGIN
    PERFORM FROM households_person p WHERE p.id = NEW.person_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION '% % moves to person %, who does not exist', TG_TABLE_NAME, NEW.id, NEW.person_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'card_person_exists';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE TRIGGER card_moves_to_a_person_who_exists AFTER UPDATE OF person_id ON households_bankcard
    FOR EACH ROW WHEN (OLD.person_id IS DISTINCT FROM NEW.person_id)
    EXECUTE FUNCTION households_check_moved_card_owner();

-- One refusal for every key that never changes: TG_ARGV[0] is the column.
CREATE OR REPLACE FUNCTION households_refuse_key_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% % keeps its %: % refused', TG_TABLE_NAME, OLD.id, TG_ARGV[0], to_jsonb(NEW) ->> TG_ARGV[0]
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE TRIGGER person_household_never_changes BEFORE UPDATE OF household_id ON households_person
    FOR EACH ROW WHEN (OLD.household_id IS DISTINCT FROM NEW.household_id)
    EXECUTE FUNCTION households_refuse_key_change('household_id');
CREATE OR REPLACE TRIGGER decile_household_never_changes BEFORE UPDATE OF household_id ON households_decileassignment
    FOR EACH ROW WHEN (OLD.household_id IS DISTINCT FROM NEW.household_id)
    EXECUTE FUNCTION households_refuse_key_change('household_id');
-- Named to fire before the ledger's household_key_never_changes (row triggers fire in name order).
CREATE OR REPLACE TRIGGER household_id_never_changes BEFORE UPDATE OF id ON households_household
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION households_refuse_key_change('id');
CREATE OR REPLACE TRIGGER person_id_never_changes BEFORE UPDATE OF id ON households_person
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION households_refuse_key_change('id');

CREATE OR REPLACE FUNCTION households_refuse_named_household_delete() RETURNS trigger AS $$
DECLARE
    named bigint;
BEGIN
    -- SHARE conflicts with the ROW EXCLUSIVE lock every writer of these tables holds until it
    -- ends; each statement below then reads with a snapshot taken after they committed.
    LOCK TABLE households_person, households_decileassignment IN SHARE MODE;
    SELECT o.id INTO named FROM old_rows o
        WHERE EXISTS (SELECT 1 FROM households_person p WHERE p.household_id = o.id) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'household % still has people: they go first', named
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'person_household_exists';
    END IF;
    SELECT o.id INTO named FROM old_rows o
        WHERE EXISTS (SELECT 1 FROM households_decileassignment d WHERE d.household_id = o.id) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'household % still has decile assignments: they go first', named
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'decile_household_exists';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SET enable_seqscan = off;

CREATE OR REPLACE TRIGGER household_named_by_registry_kept AFTER DELETE ON households_household
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION households_refuse_named_household_delete();

CREATE OR REPLACE FUNCTION households_refuse_named_person_delete() RETURNS trigger AS $$
DECLARE
    named bigint;
BEGIN
    LOCK TABLE households_bankcard IN SHARE MODE;  -- as for households, above
    SELECT o.id INTO named FROM old_rows o
        WHERE EXISTS (SELECT 1 FROM households_bankcard c WHERE c.person_id = o.id) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'person % still has bank cards: they go first', named
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'card_person_exists';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SET enable_seqscan = off;

CREATE OR REPLACE TRIGGER person_named_by_card_kept AFTER DELETE ON households_person
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION households_refuse_named_person_delete();

-- A household's province and city (since households 0012), as its people's household: a
-- statement's new households name places that exist (a look-up of the tiny reference tables per
-- row, in one statement, instead of a foreign key's SPI call and FOR KEY SHARE lock on a hot city
-- row at commit); a household moved to another place names one that exists (a row trigger: moves
-- are few); a province or city that households name is never deleted, nor its id changed (they
-- are reference data loaded by a migration).
CREATE OR REPLACE FUNCTION households_check_places_exist() RETURNS trigger AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.province_id, n.city_id INTO bad FROM new_rows n
        WHERE NOT EXISTS (SELECT 1 FROM households_province p WHERE p.id = n.province_id) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '% names province %, which does not exist', TG_TABLE_NAME, bad.province_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'household_province_exists';
    END IF;
    SELECT n.province_id, n.city_id INTO bad FROM new_rows n
        WHERE NOT EXISTS (SELECT 1 FROM households_city c WHERE c.id = n.city_id) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '% names city %, which does not exist', TG_TABLE_NAME, bad.city_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'household_city_exists';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE TRIGGER household_places_exist AFTER INSERT ON households_household
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION households_check_places_exist();

CREATE OR REPLACE FUNCTION households_check_moved_household_place() RETURNS trigger AS $$
BEGIN
    PERFORM FROM households_province p WHERE p.id = NEW.province_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'household % moves to province %, which does not exist', NEW.id, NEW.province_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'household_province_exists';
    END IF;
    PERFORM FROM households_city c WHERE c.id = NEW.city_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'household % moves to city %, which does not exist', NEW.id, NEW.city_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'household_city_exists';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE TRIGGER household_moves_to_a_place_that_exists AFTER UPDATE OF province_id, city_id
    ON households_household FOR EACH ROW
    WHEN (OLD.province_id IS DISTINCT FROM NEW.province_id OR OLD.city_id IS DISTINCT FROM NEW.city_id)
    EXECUTE FUNCTION households_check_moved_household_place();

CREATE OR REPLACE FUNCTION households_refuse_named_place_delete() RETURNS trigger AS $$
DECLARE
    named bigint;
BEGIN
    LOCK TABLE households_household IN SHARE MODE;  -- as for households, above
    SELECT o.id INTO named FROM old_rows o
        WHERE EXISTS (SELECT 1 FROM households_household h
                      WHERE (TG_TABLE_NAME = 'households_city' AND h.city_id = o.id)
                         OR (TG_TABLE_NAME = 'households_province' AND h.province_id = o.id)) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '% % is named by households: it is never deleted', TG_TABLE_NAME, named
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'household_' || TG_ARGV[0] || '_exists';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE TRIGGER city_named_by_households_kept AFTER DELETE ON households_city
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION households_refuse_named_place_delete('city');
CREATE OR REPLACE TRIGGER province_named_by_households_kept AFTER DELETE ON households_province
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION households_refuse_named_place_delete('province');
CREATE OR REPLACE TRIGGER city_id_never_changes BEFORE UPDATE OF id ON households_city
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION households_refuse_key_change('id');
CREATE OR REPLACE TRIGGER province_id_never_changes BEFORE UPDATE OF id ON households_province
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION households_refuse_key_change('id');
