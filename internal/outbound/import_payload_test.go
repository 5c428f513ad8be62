package outbound_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/company"
	"github.com/parley-cc/parley/internal/outbound"
	"github.com/parley-cc/parley/internal/store"
	"github.com/parley-cc/parley/internal/testenv"
)

// TestImportBodyApartAndDropped: an upload's body is stored apart from its
// task's row (which the importer updates after every batch: on SQLite an
// UPDATE rewrites the whole record, a 100 MB body included) and is deleted
// once the task is done; the rows and the progress are as before.
func TestImportBodyApartAndDropped(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db, actx, agentUUID := importFixture(t, dsn)
		svc := &outbound.Service{DB: db}
		body := []byte(`[{"msisdn":"+79990000001"},{"msisdn":"not a number"},{"msisdn":"+79990000002"}]`)
		_, taskUUID, err := svc.StartImport(actx, agentUUID, outbound.UploadOptions{}, body)
		if err != nil {
			t.Fatal(err)
		}
		payloads := func() (n int) {
			if err := db.Reader().QueryRow(ctx, `SELECT COUNT(*) FROM import_payloads p JOIN import_tasks t ON t.id = p.task_id WHERE t.uuid = ?`, taskUUID).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := payloads(); n != 1 {
			t.Fatalf("queued task: %d stored bodies, want 1", n)
		}
		// Small batches, so that the task's row is updated several times
		// while the body is still needed.
		im := &outbound.Importer{Dialogs: svc, Node: "t", BatchSize: 1, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		if worked, err := im.RunOnce(ctx); err != nil || !worked {
			t.Fatalf("RunOnce: %v %v", worked, err)
		}
		st, err := svc.Status(actx, taskUUID)
		if err != nil {
			t.Fatal(err)
		}
		if st.State != outbound.TaskDone || st.Total != 3 || st.Processed != 3 || st.Failed != 1 {
			t.Fatalf("status %+v, want done with 3 rows, 1 failed", st)
		}
		if n := payloads(); n != 0 {
			t.Errorf("done task: %d stored bodies, want 0", n)
		}
	})
}

// importFixture opens and migrates the database at dsn (closed when the
// test ends) with one company and one agent, for the importer's tests and
// benchmark that run it without a server; ctx is the company admin's.
func importFixture(tb testing.TB, dsn string) (db *store.DB, ctx context.Context, agentUUID string) {
	tb.Helper()
	ctx = context.Background()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	c, err := (&company.Service{DB: db}).Create(ctx, "Acme", "UTC")
	if err != nil {
		tb.Fatal(err)
	}
	ctx = parley.WithCaller(ctx, parley.Caller{CompanyID: c.ID, CompanyUUID: c.UUID, Role: parley.RoleAdmin})
	a, err := (&agent.Service{DB: db}).Create(ctx, agent.NewAgent{Name: "a"})
	if err != nil {
		tb.Fatal(err)
	}
	return db, ctx, a.UUID
}
