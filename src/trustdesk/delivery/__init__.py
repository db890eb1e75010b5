"""Telling the host platform what TrustDesk decided: webhook endpoints, the outbox, the sender.

An action (applied, reversed, expired) writes one outbox row per active endpoint of its app in
the same transaction (`outbox`), so an event exists exactly when the change commits. The worker
delivers the rows (`sender`) following the Standard Webhooks specification, signing each
attempt afresh with the endpoint's secret (`signing`), retrying with backoff for a day before a
row goes to the dead-letter list. Endpoints are added and removed through `endpoints`.
"""
