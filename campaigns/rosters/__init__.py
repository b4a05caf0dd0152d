"""Rosters: a unit's donors as a file — read (`reader`, pure), checked, saved and exported
(`services`)."""
