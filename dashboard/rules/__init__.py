"""Clinical rules (contracts documented below once stable)."""
