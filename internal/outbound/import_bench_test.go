package outbound_test

import (
	"context"
	"encoding/json"
	"fmt"
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

// BenchmarkImport100k runs a 100,000-row group upload through the importer
// alone (no HTTP), for profiling: go test -bench Import -cpuprofile cpu.out
func BenchmarkImport100k(b *testing.B) {
	ctx := context.Background()
	rows := make([]map[string]any, 100_000)
	for i := range rows {
		rows[i] = map[string]any{"msisdn": fmt.Sprintf("+7999%07d", i), "name": fmt.Sprintf("Customer %d", i), "debt": i % 5000}
	}
	payload, _ := json.Marshal(rows)
	b.StopTimer()
	for range b.N {
		db, err := store.Open(ctx, testenv.SQLiteDSN(b))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.Migrate(ctx); err != nil {
			b.Fatal(err)
		}
		c, _ := (&company.Service{DB: db}).Create(ctx, "Bench", "UTC")
		actx := parley.WithCaller(ctx, parley.Caller{CompanyID: c.ID, CompanyUUID: c.UUID, Role: parley.RoleAdmin})
		agents := &agent.Service{DB: db}
		a, _ := agents.Create(actx, agent.NewAgent{Name: "a"})
		if _, err := agents.BulkCreateEntities(actx, agent.Initial, a.UUID, []agent.NewEntity{{Name: "name"}, {Name: "debt"}}); err != nil {
			b.Fatal(err)
		}
		svc := &outbound.Service{DB: db}
		if _, _, err := svc.StartImport(actx, a.UUID, outbound.UploadOptions{}, payload); err != nil {
			b.Fatal(err)
		}
		im := &outbound.Importer{Dialogs: svc, Node: "bench", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		b.StartTimer()
		if worked, err := im.RunOnce(ctx); err != nil || !worked {
			b.Fatal(worked, err)
		}
		b.StopTimer()
		db.Close()
	}
}
