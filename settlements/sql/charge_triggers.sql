-- A household's cycle charge (settlements_charge) is append-only, as the entry it belongs to is
-- (loaded by migration settlements 0026; every statement here can be run again). The function is
-- the ledger's own (ledger_triggers.sql). The trigger is declared on the partitioned table, so
-- every month's partition, created now or later, carries it.

CREATE OR REPLACE TRIGGER charge_append_only BEFORE UPDATE OR DELETE ON settlements_charge
    FOR EACH ROW EXECUTE FUNCTION settlements_refuse_change();
