"""One handler module per API family; each exposes ``routes``."""
