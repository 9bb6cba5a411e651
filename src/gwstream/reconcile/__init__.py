"""Reconciliation: the gateway vendors' own usage figures beside gwstream's.

Pulls per-call usage from the vendors' metrics APIs (:mod:`.pull`, over the
clients in :mod:`.clients` and the page readers in :mod:`.pages`) into the
cost database (:mod:`.store`), where the ``reconciliation`` view compares them
with the cost events. Reads no Kafka.
"""
