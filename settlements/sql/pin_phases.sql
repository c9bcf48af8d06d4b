-- A phase that money moved under is pinned (loaded by migration settlements 0006): its rules and
-- its decile bands can no longer change, except its name and an end date not in the past.

CREATE OR REPLACE FUNCTION settlements_phase_is_pinned(target bigint) RETURNS boolean AS $$
    SELECT EXISTS (SELECT 1 FROM settlements_journalentry WHERE phase_id = target);
$$ LANGUAGE sql STABLE;

CREATE OR REPLACE FUNCTION settlements_refuse_pinned_phase() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND NEW.starts_on = OLD.starts_on AND NEW.basis = OLD.basis
       AND NEW.unspent_policy = OLD.unspent_policy AND NEW.min_distinct_items = OLD.min_distinct_items
       AND (NEW.ends_on IS NOT DISTINCT FROM OLD.ends_on OR NEW.ends_on >= current_date) THEN
        RETURN NEW;  -- a new name, or an end from today on
    END IF;
    IF settlements_phase_is_pinned(OLD.id) THEN
        RAISE EXCEPTION 'phase % has moved money: its rules cannot change (create a new phase from a date)', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION settlements_refuse_pinned_band() RETURNS trigger AS $$
BEGIN
    IF settlements_phase_is_pinned(CASE WHEN TG_OP = 'INSERT' THEN NEW.phase_id ELSE OLD.phase_id END)
       OR (TG_OP = 'UPDATE' AND settlements_phase_is_pinned(NEW.phase_id)) THEN
        RAISE EXCEPTION 'the bands of a phase that has moved money cannot change'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER phase_pinned BEFORE UPDATE OR DELETE ON settlements_phase
    FOR EACH ROW EXECUTE FUNCTION settlements_refuse_pinned_phase();
CREATE TRIGGER phase_band_pinned BEFORE INSERT OR UPDATE OR DELETE ON settlements_phaseband
    FOR EACH ROW EXECUTE FUNCTION settlements_refuse_pinned_band();
