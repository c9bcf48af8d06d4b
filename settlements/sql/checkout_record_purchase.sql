-- The POS purchase's write as one call (loaded by migrations settlements 0007, 0008, 0021 and 0022;
-- a change to it is a new migration that loads this file again). It mirrors the Python write in
-- settlements/services/checkout/write.py; tests/settlements/test_checkout_function.py runs both on
-- the same purchases and compares them, and checks that the function in the database is this file.
--
-- The cycle's credit spend below is a copy of settlements.selectors.CYCLE_SPEND_SQL, and "a bonus
-- in force" a copy of settlements.selectors.BONUS_IN_FORCE_SQL (PL/pgSQL cannot compose the
-- Python fragments): change both together.

CREATE OR REPLACE FUNCTION checkout_record_purchase(
    p_household bigint, p_payer bigint, p_store bigint, p_terminal bigint, p_key text,
    p_fingerprint text, p_paid_with text, p_card_bin text, p_card_last4 text,
    p_base_total bigint, p_current_total bigint, p_created_at timestamptz, p_period date,
    p_items bigint[], p_quantities numeric[], p_unit_bases bigint[], p_unit_currents bigint[],
    p_bases bigint[], p_currents bigint[],
    p_cycle bigint, p_cycle_key text, p_phase bigint,
    p_wallet bigint, p_inflation_fund bigint, p_store_payable bigint,
    p_threshold bigint, p_bonus bigint, p_process text, p_answer jsonb
) RETURNS jsonb AS $$
DECLARE
    difference bigint := p_current_total - p_base_total;
    balance bigint := 0;
    credit bigint;
    compensation bigint;
    purchase bigint;
    entry bigint;
    spent bigint;
    granted boolean;
    progress jsonb := NULL;
    cycle_month date;
    answer jsonb;
BEGIN
    -- The caller's invariants, as split_purchase and purchase_legs check them in Python. Raised
    -- as plain errors (P0001), never as integrity errors, which the caller reads as a
    -- concurrent duplicate of the idempotency key.
    IF p_base_total < 0 OR difference < 0 THEN
        RAISE EXCEPTION 'totals must satisfy 0 <= base <= current';
    END IF;
    IF difference > 0 AND (p_inflation_fund IS NULL OR p_store_payable IS NULL) THEN
        RAISE EXCEPTION 'a purchase above base prices needs the inflation fund and the store payable';
    END IF;
    -- The month everything below is filed under, named for the reference checks
    -- (money_partitions.sql): each then opens that month's partition alone.
    PERFORM set_config('kalabarg.money_period', p_period::text, true);
    IF p_wallet IS NOT NULL THEN
        SELECT a.balance_rial INTO STRICT balance FROM settlements_account a
         WHERE a.id = p_wallet FOR UPDATE;
    END IF;
    credit := LEAST(difference, balance);
    compensation := difference - credit;

    INSERT INTO stores_purchase (household_id, payer_id, store_id, terminal_id, idempotency_key,
        request_fingerprint, paid_with, card_bin, card_last4, base_total_rial, current_total_rial,
        cash_rial, credit_rial, compensation_rial, status, created_at, period)
    VALUES (p_household, p_payer, p_store, p_terminal, p_key, p_fingerprint, p_paid_with,
        p_card_bin, p_card_last4, p_base_total, p_current_total, p_base_total, credit,
        compensation, 'completed', p_created_at, p_period)
    RETURNING id INTO purchase;

    INSERT INTO stores_purchaseline (purchase_id, item_id, quantity, unit_base_price_rial,
        unit_current_price_rial, base_amount_rial, current_amount_rial)
    SELECT purchase, l.item, l.quantity, l.unit_base, l.unit_current, l.base, l.current
      FROM unnest(p_items, p_quantities, p_unit_bases, p_unit_currents, p_bases, p_currents)
        AS l(item, quantity, unit_base, unit_current, base, current);

    IF difference > 0 THEN
        INSERT INTO settlements_journalentry (kind, idempotency_key, household_id, cycle_id,
            phase_id, purchase_id, created_by_process, memo, created_at, period)
        VALUES ('purchase', 'purchase:' || purchase, p_household, p_cycle, p_phase, purchase,
            p_process, 'خرید ' || purchase, p_created_at, p_period)
        RETURNING id INTO entry;
        IF credit > 0 THEN
            UPDATE settlements_account SET balance_rial = balance_rial - credit
             WHERE id = p_wallet AND balance_rial >= credit;
            IF NOT FOUND THEN  -- never, under the lock taken above
                RAISE EXCEPTION 'wallet % cannot pay %', p_wallet, credit;
            END IF;
        END IF;
        INSERT INTO settlements_posting (entry_id, account_id, amount_rial, period)
        SELECT entry, l.account, l.amount, p_period
          FROM (VALUES (1, p_wallet, -credit), (2, p_inflation_fund, -compensation),
                       (3, p_store_payable, credit + compensation)) AS l(leg, account, amount)
         WHERE l.amount <> 0
         ORDER BY l.leg;
    END IF;

    IF p_cycle IS NOT NULL AND p_threshold IS NOT NULL THEN
        spent := 0;
        granted := false;
        IF p_wallet IS NOT NULL THEN
            -- No entry of a cycle is filed before the cycle's month (its charge and bonus are filed
            -- under it, its purchases and reversals later), nor a reversal before what it
            -- reverses: a plain variable as the lower bound lets PostgreSQL leave the older
            -- months' partitions out before it opens them, so the read does not grow with the
            -- months kept (settlements.selectors.CYCLE_FIGURES_SQL bounds it the same way). One
            -- plan per statement (plan_cache_mode): see money_partitions.sql.
            SELECT c.starts_on INTO cycle_month FROM settlements_cycle c WHERE c.id = p_cycle;
            -- The figures of settlements.selectors.wallet_cycle_figures, under the wallet lock.
            SELECT -COALESCE(SUM(CASE WHEN e.kind IN ('purchase', 'reversal') AND e.purchase_id IS NOT NULL
                                      THEN po.amount_rial ELSE 0 END), 0),
                   -- BONUS_IN_FORCE_SQL: a bonus no later entry reverses.
                   COALESCE(SUM(CASE WHEN e.kind = 'bonus' AND NOT EXISTS
                                     (SELECT 1 FROM settlements_journalentry r
                                       WHERE r.reverses_id = e.id AND r.period >= cycle_month)
                                THEN 1 ELSE 0 END), 0) > 0
              INTO spent, granted
              FROM settlements_journalentry e
              JOIN settlements_posting po ON po.entry_id = e.id AND po.period = e.period
             WHERE e.household_id = p_household AND e.cycle_id = p_cycle AND po.account_id = p_wallet
               AND e.period >= cycle_month AND po.period >= cycle_month;
        END IF;
        progress := jsonb_build_object(
            'cycle', p_cycle_key,
            'spent_rial', spent,
            'threshold_rial', p_threshold,
            'remaining_rial', GREATEST(p_threshold - spent, 0),
            'bonus_rial', COALESCE(p_bonus, 0),
            'granted', granted,
            'queued', NOT granted AND credit > 0 AND spent >= p_threshold);
    END IF;

    answer := p_answer || jsonb_build_object(
        'purchase_id', purchase,
        'cash_rial', p_base_total,
        'credit_rial', credit,
        'compensation_rial', compensation,
        'wallet_balance_rial', balance - credit,
        'bonus', progress);
    INSERT INTO stores_idempotencyrecord (terminal_id, key, operation, fingerprint, purchase_id,
        response_status, response_body, created_at)
    VALUES (p_terminal, p_key, 'purchase', p_fingerprint, purchase, 201, answer, clock_timestamp());
    RETURN answer;
END;
$$ LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan;
