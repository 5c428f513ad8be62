package handover_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/chat"
	"github.com/parley-cc/parley/internal/testenv"
)

// TestDeadNodeTransfersInterrupted: a transfer held by a node that died
// (its lease ran out, nobody renews it) ringing for an operator is ended
// as interrupted by the surviving node's sweep, once, and the operator's
// capacity comes back.
func TestDeadNodeTransfersInterrupted(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env, ten := start(t, dsn)
		op := online(t, env, ten.OperatorToken)
		ctx := context.Background()
		aid, err := agent.IDByUUID(ctx, env.DB.Reader(), ten.CompanyID, ten.AgentUUID)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := env.Chats.StartTransfer(ctx, chat.NewTransfer{CompanyID: ten.CompanyID, AgentID: aid, DialogID: 1, CallID: 1,
			CallUUID: "dead-node-call", Phone: "79990000001", Limit: 1, Node: "dead-node", Lease: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := env.Chats.OfferTransfer(ctx, ten.CompanyID, tr.ID); err != nil || got != op.ID {
			t.Fatalf("offer: %d, %v", got, err)
		}
		var me struct {
			Load int `json:"load"`
		}
		must(t, env.Do(t, "GET", "/v1/operators/me", op.Token, nil), 200).JSON(t, &me)
		if me.Load != 1 {
			t.Fatalf("the ringing call takes no capacity: load %d", me.Load)
		}
		var got transfer
		waitFor(t, 40*time.Second, "the sweep", func() bool {
			must(t, env.Do(t, "GET", fmt.Sprintf("/v1/call-transfers/%d", tr.ID), ten.Token, nil), 200).JSON(t, &got)
			return got.State == "ended"
		})
		if got.Result != "interrupted" {
			t.Errorf("swept: %+v", got)
		}
		must(t, env.Do(t, "GET", "/v1/operators/me", op.Token, nil), 200).JSON(t, &me)
		if me.Load != 0 {
			t.Errorf("the operator's load after the sweep: %d", me.Load)
		}
		if n, err := env.Chats.SweepTransfers(ctx); err != nil || n != 0 {
			t.Errorf("a second sweep ended %d (%v)", n, err)
		}
	})
}
