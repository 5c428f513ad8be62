package sip_test

import (
	"context"
	"testing"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/dialer"
	"github.com/parley-cc/parley/internal/testenv"
	"github.com/parley-cc/parley/internal/voice/sip"
)

func ptr[T any](v T) *T { return &v }

// TestTrunkUpdate: a partial update changes only what it names, keeps or
// clears the password, is per company, and makes Resolve build the trunk
// anew with the new configuration.
func TestTrunkUpdate(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
		a, b := env.NewTenant(t, "Acme"), env.NewTenant(t, "Beta")
		ctxA := parley.WithCaller(context.Background(), parley.Caller{CompanyID: a.CompanyID, CompanyUUID: a.CompanyUUID, Role: parley.RoleAdmin})
		ctxB := parley.WithCaller(context.Background(), parley.Caller{CompanyID: b.CompanyID, CompanyUUID: b.CompanyUUID, Role: parley.RoleAdmin})
		svc := env.Trunks

		made, err := svc.Create(ctxA, sip.NewTrunk{Name: "main", Host: "old.example", Username: "alice", Password: "s3cret", CallerID: "100"})
		if err != nil {
			t.Fatal(err)
		}
		before, err := svc.Resolve(context.Background(), a.CompanyID, "main")
		if err != nil {
			t.Fatal(err)
		}

		// Another company's trunk of that name doesn't exist for B.
		if _, err := svc.Update(ctxB, "main", sip.TrunkUpdate{Host: ptr("evil.example")}); parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Errorf("update of another company's trunk: %v", err)
		}
		for _, bad := range []sip.TrunkUpdate{
			{Host: ptr("")}, {Host: ptr("bad host")}, {Port: ptr(0)}, {Port: ptr(70000)}, {Transport: ptr("tls")},
			{Username: ptr("")}, // the password stays and needs a user
			{Codecs: ptr("G729")}, {RingTimeout: ptr(0)}, {RingTimeout: ptr(301)}, {CallerID: ptr("a@b")},
			{Password: ptr("a\x00b")},
		} {
			if _, err := svc.Update(ctxA, "main", bad); parley.ErrorCode(err) != parley.EINVALID {
				t.Errorf("%+v: %v", bad, err)
			}
		}
		if _, err := svc.Update(ctxA, "nope", sip.TrunkUpdate{}); parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Errorf("unknown name: %v", err)
		}

		// Nothing changed: the row and the cached trunk stay.
		same, err := svc.Update(ctxA, "main", sip.TrunkUpdate{Host: ptr("old.example")})
		if err != nil || same.UpdatedAt != made.UpdatedAt {
			t.Errorf("no-op update: %+v %v", same, err)
		}
		if again, _ := svc.Resolve(context.Background(), a.CompanyID, "main"); again != before {
			t.Error("a no-op update rebuilt the trunk")
		}

		got, err := svc.Update(ctxA, "main", sip.TrunkUpdate{Host: ptr(" 127.0.0.1 "), Port: ptr(5070), Transport: ptr("TCP"),
			Codecs: ptr("pcma"), RingTimeout: ptr(12)})
		if err != nil {
			t.Fatal(err)
		}
		if got.Host != "127.0.0.1" || got.Port != 5070 || got.Transport != "tcp" || got.Codecs != "PCMA" || got.RingTimeout != 12 ||
			got.Username != "alice" || got.Password != "********" || got.CallerID != "100" || got.Name != "main" ||
			got.UUID != made.UUID || got.UpdatedAt <= made.UpdatedAt || got.CreatedAt != made.CreatedAt {
			t.Errorf("updated %+v (created %+v)", got, made)
		}
		after, err := svc.Resolve(context.Background(), a.CompanyID, "main")
		if err != nil {
			t.Fatal(err)
		}
		tr := after.(*sip.Trunk)
		if after == before || tr.Host != "127.0.0.1" || tr.Port != 5070 || tr.Transport != "tcp" || tr.Ring != 12*time.Second ||
			tr.Password != "s3cret" || len(tr.Codecs) != 1 || tr.Codecs[0].String() != "PCMA" {
			t.Errorf("resolved after the update: %+v", tr.Config)
		}

		// An immediate second change is still seen (updated_at moves on
		// within the millisecond).
		if _, err := svc.Update(ctxA, "main", sip.TrunkUpdate{Port: ptr(5071)}); err != nil {
			t.Fatal(err)
		}
		if r, _ := svc.Resolve(context.Background(), a.CompanyID, "main"); r.(*sip.Trunk).Port != 5071 {
			t.Errorf("second update not resolved: %+v", r.(*sip.Trunk).Config)
		}

		// password "" clears it, then the username may go too.
		got, err = svc.Update(ctxA, "main", sip.TrunkUpdate{Password: ptr("")})
		if err != nil || got.Password != "" || got.Username != "alice" {
			t.Errorf("clear password: %+v %v", got, err)
		}
		if r, _ := svc.Resolve(context.Background(), a.CompanyID, "main"); r.(*sip.Trunk).Password != "" {
			t.Error("resolved trunk keeps the cleared password")
		}
		if got, err = svc.Update(ctxA, "main", sip.TrunkUpdate{Username: ptr("")}); err != nil || got.Username != "" {
			t.Errorf("clear username: %+v %v", got, err)
		}
		// A trunk deleted and re-created under its name is resolved anew.
		if err := svc.DeleteByName(ctxA, "main"); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Create(ctxA, sip.NewTrunk{Name: "main", Host: "new.example"}); err != nil {
			t.Fatal(err)
		}
		if r, _ := svc.Resolve(context.Background(), a.CompanyID, "main"); r.(*sip.Trunk).Host != "new.example" {
			t.Errorf("re-created trunk resolved as %+v", r.(*sip.Trunk).Config)
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
		if _, err := env.Trunks.Create(ctx, sip.NewTrunk{Name: "main", Host: "127.0.0.1", Port: first.Port()}); err != nil {
			t.Fatal(err)
		}
		call := func(want string) {
			t.Helper()
			tr, err := env.Trunks.Resolve(context.Background(), ten.CompanyID, "main")
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
		if _, err := env.Trunks.Update(ctx, "main", sip.TrunkUpdate{Port: ptr(second.Port()), Transport: ptr("tcp"),
			Username: ptr("alice"), Password: ptr("secret")}); err != nil {
			t.Fatal(err)
		}
		call(dialer.ResultAnswered)
		second.Wait(t)
	})
}
