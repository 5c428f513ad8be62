package server

import (
	"context"

	"github.com/parley-cc/parley/internal/events"
	"github.com/parley-cc/parley/internal/handover"
	"github.com/parley-cc/parley/internal/realtime"
)

// openRealtime builds the WebSocket stream's hub and, when NATSURL is set,
// links the node's bus to the other nodes through NATS.
func (s *Server) openRealtime(ctx context.Context, node string) error {
	hub, err := realtime.New(ctx, realtime.Config{DB: s.DB, Chats: s.Chats, Tokens: s.Tokens, Bus: s.Bus, Log: s.Config.Log,
		MaxUserConns: s.Config.StreamUserConns})
	if err != nil {
		return err
	}
	s.Realtime = hub
	if s.Config.NATSURL != "" {
		n, err := events.ConnectNATS(s.Bus, events.NATSOptions{URL: s.Config.NATSURL, Subject: s.Config.NATSSubject,
			Node: node, Log: s.Config.Log})
		if err != nil {
			return err
		}
		s.NATS = n
		// Requests for the calls this node holds, from the other nodes
		// (an operator's accept that reached them).
		s.Handover.Relay, s.Handover.RelayPrefix = n, handover.RelayPrefix(s.Config.NATSSubject)
		if _, err := n.Reply(s.Handover.RelaySubject(node), s.Handover.ServeRelay); err != nil {
			return err
		}
	}
	return nil
}

// closeRealtime ends the stream's connections and unlinks the bus; it runs
// before the database closes.
func (s *Server) closeRealtime() {
	if s.Realtime != nil {
		s.Realtime.Close()
	}
	if s.NATS != nil {
		s.NATS.Close()
	}
}
