"""Donor rules in pure Python (no Django import): resident ID numbers (`identity`), age and
interval rules (`rules`)."""
