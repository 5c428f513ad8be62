package server

import (
	"context"
	"strings"
)

// wakeOnClusterEvents wakes this node's dialer and router for work other
// nodes announce through NATS (remote events): a call ended or a dialog
// was requeued elsewhere (channels of a shared agent freed), an import
// stored dialogs, a chat was queued or released. This node's own changes
// wake the loops directly (outbound.Service.Queued, agent.Service.Changed,
// chat.Service.OnChange and OperatorFree). The loops' safety polls are
// long, so this is what keeps a cluster's nodes from waiting on them.
func (s *Server) wakeOnClusterEvents(ctx context.Context) {
	ch, stop := s.Bus.SubscribeCluster(256)
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-ch:
			if !ok {
				return
			}
			if !ev.Remote {
				continue
			}
			switch {
			case ev.Type == "call.ended", strings.HasPrefix(ev.Type, "dialog."), strings.HasPrefix(ev.Type, "import."):
				s.Dialer.Wake()
			default:
				s.Router.Notice(ev)
				s.Closer.Notice(ev) // another node's operator answer may start an earlier wait
			}
		}
	}
}
