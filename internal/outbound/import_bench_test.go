package outbound_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/outbound"
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
		db, actx, agentUUID := importFixture(b, testenv.SQLiteDSN(b))
		if _, err := (&agent.Service{DB: db}).BulkCreateEntities(actx, agent.Initial, agentUUID, []agent.NewEntity{{Name: "name"}, {Name: "debt"}}); err != nil {
			b.Fatal(err)
		}
		svc := &outbound.Service{DB: db}
		if _, _, err := svc.StartImport(actx, agentUUID, outbound.UploadOptions{}, payload); err != nil {
			b.Fatal(err)
		}
		im := &outbound.Importer{Dialogs: svc, Node: "bench", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		b.StartTimer()
		if worked, err := im.RunOnce(ctx); err != nil || !worked {
			b.Fatal(worked, err)
		}
		b.StopTimer()
	}
}
