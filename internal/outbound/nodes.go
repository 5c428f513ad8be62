package outbound

import (
	"context"
	"errors"

	"github.com/parley-cc/parley/internal/store"
)

// Which node holds a live call (several nodes): the dialog being called
// is leased by the dialer of the node that placed its call, so its
// lease_owner names the node whose memory holds the call (handover relays
// a supervisor's listen and the live view there).

// CallNode returns the node holding live call callID of company cid, ""
// when the call is not live (ended, or its node's lease ran out).
func (s *Service) CallNode(ctx context.Context, cid, callID int64) (string, error) {
	var node string
	err := s.DB.Reader().QueryRow(ctx, `SELECT d.lease_owner FROM calls c JOIN dialogs d ON d.id = c.dialog_id
		WHERE c.id = ? AND c.company_id = ? AND c.status = 'live' AND d.status = 'calling' AND d.lease_until >= ?`,
		callID, cid, s.now().UnixMilli()).Scan(&node)
	if errors.Is(err, store.ErrNoRows) {
		return "", nil
	}
	return node, err
}

// CallingNodes lists the nodes calling dialogs of company cid now.
func (s *Service) CallingNodes(ctx context.Context, cid int64) ([]string, error) {
	return store.Collect(ctx, s.DB.Reader(), func(r store.Scanner) (n string, err error) {
		err = r.Scan(&n)
		return n, err
	}, `SELECT DISTINCT lease_owner FROM dialogs WHERE company_id = ? AND status = 'calling' AND lease_until >= ? AND lease_owner <> ''`,
		cid, s.now().UnixMilli())
}
