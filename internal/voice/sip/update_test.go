package sip_test

import (
	"context"
	"testing"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/dialer"
	"github.com/parley-cc/parley/internal/testenv"
	"github.com/parley-cc/parley/internal/trunk"
	"github.com/parley-cc/parley/internal/voice/sip"
)

func ptr[T any](v T) *T { return &v }

// TestPoolRebuildsOnUpdate: an update of a trunk makes the pool build its
// SIP stack anew with the new configuration, even a second update within
// the millisecond; a no-op update keeps the stack; a trunk deleted and
// re-created under its name is another trunk.
func TestPoolRebuildsOnUpdate(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
		a := env.NewTenant(t, "Acme")
		ctxA := parley.WithCaller(context.Background(), parley.Caller{CompanyID: a.CompanyID, CompanyUUID: a.CompanyUUID, Role: parley.RoleAdmin})
		svc, pool := env.Trunks, env.SIPTrunks
		resolve := func() *sip.Trunk {
			t.Helper()
			r, err := pool.Resolve(context.Background(), a.CompanyID, "main")
			if err != nil || r == nil {
				t.Fatalf("resolve: %v %v", r, err)
			}
			return r.(*sip.Trunk)
		}

		if _, err := svc.Create(ctxA, trunk.NewTrunk{Name: "main", Host: "old.example", Username: "alice", Password: "s3cret", CallerID: "100"}); err != nil {
			t.Fatal(err)
		}
		before := resolve()
		if _, err := svc.Update(ctxA, "main", trunk.Update{Host: ptr("old.example")}); err != nil {
			t.Fatal(err)
		}
		if resolve() != before {
			t.Error("a no-op update rebuilt the trunk")
		}
		if _, err := svc.Update(ctxA, "main", trunk.Update{Host: ptr(" 127.0.0.1 "), Port: ptr(5070), Transport: ptr("TCP"),
			Codecs: ptr("pcma"), RingTimeout: ptr(12)}); err != nil {
			t.Fatal(err)
		}
		tr := resolve()
		if tr == before || tr.Host != "127.0.0.1" || tr.Port != 5070 || tr.Transport != "tcp" || tr.Ring != 12*time.Second ||
			tr.Password != "s3cret" || len(tr.Codecs) != 1 || tr.Codecs[0].String() != "PCMA" {
			t.Errorf("resolved after the update: %+v", tr.Config)
		}
		if _, err := svc.Update(ctxA, "main", trunk.Update{Port: ptr(5071)}); err != nil {
			t.Fatal(err)
		}
		if tr := resolve(); tr.Port != 5071 {
			t.Errorf("second update not resolved: %+v", tr.Config)
		}
		if _, err := svc.Update(ctxA, "main", trunk.Update{Password: ptr("")}); err != nil {
			t.Fatal(err)
		}
		if tr := resolve(); tr.Password != "" {
			t.Error("resolved trunk keeps the cleared password")
		}
		if err := svc.DeleteByName(ctxA, "main"); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Create(ctxA, trunk.NewTrunk{Name: "main", Host: "new.example"}); err != nil {
			t.Fatal(err)
		}
		if tr := resolve(); tr.Host != "new.example" {
			t.Errorf("re-created trunk resolved as %+v", tr.Config)
		}
	})
}

// TestTrunkUpdateCall: a call through a company trunk placed after an
// update reaches the new target: a sipp UAS on another port, over TCP
// (the trunk was UDP), with digest credentials added by the update.
func TestTrunkUpdateCall(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
		ten := env.NewTenant(t, "Acme")
		ctx := parley.WithCaller(context.Background(), parley.Caller{CompanyID: ten.CompanyID, CompanyUUID: ten.CompanyUUID, Role: parley.RoleAdmin})

		// First over UDP to one UAS.
		first := sip.StartSipp(t, "uas_answer.xml", 1)
		if _, err := env.Trunks.Create(ctx, trunk.NewTrunk{Name: "main", Host: "127.0.0.1", Port: first.Port()}); err != nil {
			t.Fatal(err)
		}
		call := func(want string) {
			t.Helper()
			tr, err := env.SIPTrunks.Resolve(context.Background(), ten.CompanyID, "main")
			if err != nil || tr == nil {
				t.Fatalf("resolve: %v %v", tr, err)
			}
			cctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			conn, result, err := tr.Dial(cctx, dialer.CallRequest{CallUUID: "u1", MSISDN: "555", CompanyID: ten.CompanyID})
			if err != nil || result != want {
				t.Fatalf("dial: %q %v, want %q", result, err, want)
			}
			if _, err := conn.Hangup(cctx); err != nil {
				t.Error(err)
			}
		}
		call(dialer.ResultAnswered)
		first.Wait(t)

		// Then over TCP to another, which demands digest auth.
		second := sip.StartSippTCP(t, "uas_auth.xml", 1)
		if _, err := env.Trunks.Update(ctx, "main", trunk.Update{Port: ptr(second.Port()), Transport: ptr("tcp"),
			Username: ptr("alice"), Password: ptr("secret")}); err != nil {
			t.Fatal(err)
		}
		call(dialer.ResultAnswered)
		second.Wait(t)
	})
}
