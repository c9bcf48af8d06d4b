"""Events of the registry that the layers above listen to (the registry imports none of them).

``decile_deciding(household_id, effective_from)``: sent *before* an officer's or an objection's
decile decision is written, inside its transaction. A receiver may refuse the decision by raising
``ValidationError`` (the money core refuses a date inside a closed cycle); nothing is written then.

``decile_decided(household_id, effective_from)``: sent after the decision's transaction committed
(the money core charges the cycle's credit to a household the decision newly covers)."""

from django.dispatch import Signal

decile_deciding = Signal()
decile_decided = Signal()
