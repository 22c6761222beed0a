"""Daily feature sets of the three datasets (SPEC §1, §3): `day`, `ms` and `l2`."""
