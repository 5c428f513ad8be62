package store

// WaitingWriters is how many interactive and bulk writers wait at the
// SQLite write gate, for tests that line writers up.
func (db *DB) WaitingWriters() (interactive, bulk int) {
	db.gate.mu.Lock()
	defer db.gate.mu.Unlock()
	return len(db.gate.high), len(db.gate.low)
}
