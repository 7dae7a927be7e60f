"""Ownership service: units, achievements, empowerment, separate ledger, pay-later licences and pool."""
