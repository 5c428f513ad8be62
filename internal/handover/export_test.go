package handover

// SetExpiring sets the hook that runs as a transfer's timeout fires (the
// race tests land an accept there).
func SetExpiring(s *Service, f func(transferID int64)) { s.expiring = f }
