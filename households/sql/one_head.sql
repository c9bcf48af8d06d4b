-- Exactly one head per household, checked at commit (loaded by migration households 0012; it
-- replaces the body written in 0003, whose triggers stay: a new household, and an update or
-- delete of a row that was a head). "At most one" is the partial unique index
-- person_one_head_per_household. A household that was written with its head, the common case
-- (a million a national load), costs one count of its heads; whether the household itself was
-- deleted since is asked only when the count is not one.
CREATE OR REPLACE FUNCTION households_check_one_head() RETURNS trigger AS $$
DECLARE
    target bigint;
    heads integer;
BEGIN
    IF TG_TABLE_NAME = 'households_household' THEN
        target := NEW.id;
    ELSE
        target := OLD.household_id;
    END IF;
    SELECT count(*) INTO heads FROM households_person WHERE household_id = target AND is_head;
    IF heads = 1 OR NOT EXISTS (SELECT 1 FROM households_household WHERE id = target) THEN
        RETURN NULL;  -- one head, or the household itself was deleted
    END IF;
    RAISE EXCEPTION 'household % must have exactly one head, has %', target, heads
        USING ERRCODE = 'check_violation', CONSTRAINT = 'household_exactly_one_head';
END;
$$ LANGUAGE plpgsql;
