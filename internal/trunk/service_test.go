package trunk_test

import (
	"context"
	"testing"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/testenv"
	"github.com/parley-cc/parley/internal/trunk"
)

func ptr[T any](v T) *T { return &v }

// tenants starts a server and returns its trunk service with the admin
// contexts of two companies.
func tenants(t *testing.T, dsn string) (svc *trunk.Service, ctxA, ctxB context.Context, companyA int64) {
	env := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
	a, b := env.NewTenant(t, "Acme"), env.NewTenant(t, "Beta")
	ctxA = parley.WithCaller(context.Background(), parley.Caller{CompanyID: a.CompanyID, CompanyUUID: a.CompanyUUID, Role: parley.RoleAdmin})
	ctxB = parley.WithCaller(context.Background(), parley.Caller{CompanyID: b.CompanyID, CompanyUUID: b.CompanyUUID, Role: parley.RoleAdmin})
	return env.Trunks, ctxA, ctxB, a.CompanyID
}

// TestTrunkStore: trunks are validated, defaulted, masked and per company.
func TestTrunkStore(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		svc, ctxA, ctxB, companyA := tenants(t, dsn)

		tr, err := svc.Create(ctxA, trunk.NewTrunk{Name: "main", Host: "sip.example.net", Username: "alice", Password: "s3cret", CallerID: "+15550001", Codecs: "pcma"})
		if err != nil {
			t.Fatal(err)
		}
		if tr.Password != trunk.Masked || tr.Secret() != "s3cret" || tr.Port != 5060 || tr.Transport != "udp" || tr.Codecs != "PCMA" ||
			tr.RingTimeout != 30 || tr.CompanyID != companyA || tr.CreatedAt.IsZero() || !tr.UpdatedAt.Equal(tr.CreatedAt) {
			t.Errorf("created %+v", tr)
		}
		if _, err := svc.Create(ctxA, trunk.NewTrunk{Name: "main", Host: "other"}); parley.ErrorCode(err) != parley.ECONFLICT {
			t.Errorf("duplicate name: %v", err)
		}
		if _, err := svc.Create(ctxB, trunk.NewTrunk{Name: "main", Host: "10.0.0.1"}); err != nil {
			t.Errorf("same name in another company: %v", err)
		}
		for _, bad := range []trunk.NewTrunk{
			{Name: "x", Host: ""}, {Name: "x", Host: "h", Transport: "sctp"}, {Name: "x", Host: "h", Port: 70000},
			{Name: "x", Host: "h", Password: "p"}, {Name: "x", Host: "h", Codecs: "opus"}, {Name: "x", Host: "h", CallerID: "a@b"},
			{Name: "", Host: "h"}, {Name: "x", Host: "h", RingTimeout: 4}, {Name: "x", Host: "h", CallerID: "+7 (999) 000"},
		} {
			if _, err := svc.Create(ctxA, bad); parley.ErrorCode(err) != parley.EINVALID {
				t.Errorf("%+v: %v", bad, err)
			}
		}
		for _, ok := range []string{"100", "alice.b"} {
			if _, err := svc.Create(ctxA, trunk.NewTrunk{Name: "id-" + ok, Host: "h", CallerID: ok}); err != nil {
				t.Errorf("caller id %q: %v", ok, err)
			}
		}
		list, err := svc.List(ctxA)
		if err != nil || len(list) != 3 || list[2].UUID != tr.UUID || list[2].Password != trunk.Masked {
			t.Errorf("list %v %v", list, err)
		}
		if _, err := svc.Get(ctxB, tr.UUID); parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Errorf("another company's trunk: %v", err)
		}
		if _, err := svc.GetByName(ctxA, "nope\x00"); parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Errorf("a name no trunk can have: %v", err)
		}
		if got, err := svc.ByName(context.Background(), companyA, "main"); err != nil || got.UUID != tr.UUID || got.Secret() != "s3cret" {
			t.Errorf("by name for the dialer: %+v %v", got, err)
		}
		if err := svc.Delete(ctxB, tr.UUID); parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Errorf("delete another company's: %v", err)
		}
		if err := svc.Delete(ctxA, tr.UUID); err != nil {
			t.Error(err)
		}
		if err := svc.DeleteByName(ctxA, "main"); parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Errorf("delete a deleted trunk: %v", err)
		}
	})
}

// TestTrunkUpdate: a partial update changes only what it names, keeps or
// clears the password, is per company, and moves updated_at only when
// something changed, strictly forward.
func TestTrunkUpdate(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		svc, ctxA, ctxB, _ := tenants(t, dsn)
		made, err := svc.Create(ctxA, trunk.NewTrunk{Name: "main", Host: "old.example", Username: "alice", Password: "s3cret", CallerID: "100"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Update(ctxB, "main", trunk.Update{Host: ptr("evil.example")}); parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Errorf("update of another company's trunk: %v", err)
		}
		for _, bad := range []trunk.Update{
			{Host: ptr("")}, {Host: ptr("bad host")}, {Port: ptr(0)}, {Port: ptr(70000)}, {Transport: ptr("tls")},
			{Username: ptr("")}, // the password stays and needs a user
			{Codecs: ptr("G729")}, {RingTimeout: ptr(0)}, {RingTimeout: ptr(301)}, {CallerID: ptr("a@b")},
			{Password: ptr("a\x00b")},
		} {
			if _, err := svc.Update(ctxA, "main", bad); parley.ErrorCode(err) != parley.EINVALID {
				t.Errorf("%+v: %v", bad, err)
			}
		}
		if _, err := svc.Update(ctxA, "nope", trunk.Update{}); parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Errorf("unknown name: %v", err)
		}
		same, err := svc.Update(ctxA, "main", trunk.Update{Host: ptr("old.example")})
		if err != nil || !same.UpdatedAt.Equal(made.UpdatedAt) {
			t.Errorf("no-op update: %+v %v", same, err)
		}
		got, err := svc.Update(ctxA, "main", trunk.Update{Host: ptr(" 127.0.0.1 "), Port: ptr(5070), Transport: ptr("TCP"),
			Codecs: ptr("pcma"), RingTimeout: ptr(12)})
		if err != nil {
			t.Fatal(err)
		}
		if got.Host != "127.0.0.1" || got.Port != 5070 || got.Transport != "tcp" || got.Codecs != "PCMA" || got.RingTimeout != 12 ||
			got.Username != "alice" || got.Password != trunk.Masked || got.Secret() != "s3cret" || got.CallerID != "100" || got.Name != "main" ||
			got.UUID != made.UUID || !got.UpdatedAt.After(made.UpdatedAt) || !got.CreatedAt.Equal(made.CreatedAt) {
			t.Errorf("updated %+v (created %+v)", got, made)
		}
		again, err := svc.Update(ctxA, "main", trunk.Update{Port: ptr(5071)})
		if err != nil || !again.UpdatedAt.After(got.UpdatedAt) {
			t.Errorf("an immediate second change: %+v %v", again, err)
		}
		if got, err = svc.Update(ctxA, "main", trunk.Update{Password: ptr("")}); err != nil || got.Password != "" || got.Secret() != "" || got.Username != "alice" {
			t.Errorf("clear password: %+v %v", got, err)
		}
		if got, err = svc.Update(ctxA, "main", trunk.Update{Username: ptr("")}); err != nil || got.Username != "" {
			t.Errorf("clear username: %+v %v", got, err)
		}
	})
}
