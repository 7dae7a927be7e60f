"""Pricing service: Transactions, appraisal, public notice and objections, listings, auctions, challenges (PRC-*)."""
