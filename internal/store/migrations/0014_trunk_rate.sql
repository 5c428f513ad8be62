-- A trunk's calls per second (internal/trunk, docs/security.md "Dialing"):
-- the dialer starts at most this many calls a second through the trunk on
-- a node. 10 is the common carrier default for SIP trunking.
ALTER TABLE trunks ADD COLUMN calls_per_second INTEGER NOT NULL DEFAULT 10;
