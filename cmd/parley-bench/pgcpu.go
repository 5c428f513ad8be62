package main

import (
	"context"
	"database/sql"
	"os"
	"strconv"
	"strings"
	"time"
)

// pgCPU measures PostgreSQL's share of an idle node's CPU: the backends
// connected to the node's database, and apart from them every other
// process of the cluster on this machine (background writer, WAL writer,
// autovacuum), read from /proc at the start and at since().
type pgCPU struct {
	backends map[int]bool
	start    map[int]time.Duration // every postgres process's CPU at the start
}

func startPGCPU(ctx context.Context, dsn string) (*pgCPU, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	p := &pgCPU{backends: map[int]bool{}, start: postgresCPU()}
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			return nil, err
		}
		p.backends[pid] = true
	}
	return p, rows.Err()
}

// since returns the CPU the node's backends and the cluster's other
// processes used since the start. A process started meanwhile counts from
// zero (a new backend of the node's pool is one of its backends only if
// it was already connected at the start: the node holds its connections).
func (p *pgCPU) since() (backends, others time.Duration) {
	for pid, now := range postgresCPU() {
		d := now - p.start[pid]
		if p.backends[pid] {
			backends += d
		} else {
			others += d
		}
	}
	return backends, others
}

// postgresCPU reads the CPU time of every process named postgres.
func postgresCPU() map[int]time.Duration {
	out := map[int]time.Duration{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		if err != nil || strings.TrimSpace(string(comm)) != "postgres" {
			continue
		}
		if cpu, err := childCPU(pid); err == nil {
			out[pid] = cpu
		}
	}
	return out
}
