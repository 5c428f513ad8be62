package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/chat"
)

// benchSearch measures full-text search over chat messages (issue 14):
// --messages text messages stored through the chat service (chats opened
// with a transcript, --per-chat messages each), then --queries two-word
// searches through chat.Service.SearchMessages as an admin of the company,
// timed one at a time. Words follow a Zipf law over a 20,000-word
// vocabulary, as words of a language do; a query's two words are taken
// from one message generated the same way, so frequent words are searched
// as often as they are written (the hard case for an index: long lists).
func benchSearch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench search", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "postgres://... (a fresh database on that server, dropped at the end) or sqlite:///path; default: a fresh SQLite file in a temp dir")
	messages := fs.Int("messages", 1_000_000, "text messages to store")
	perChat := fs.Int("per-chat", 50, "messages per chat")
	queries := fs.Int("queries", 500, "two-word searches to time")
	loaders := fs.Int("loaders", 4, "concurrent chat creators while loading")
	bulk := fs.Bool("bulk", true, "write each chat's transcript in multi-row INSERTs (chat.NewChat.BulkTranscript: the same rows, no message events); false: one message at a time, as the API does")
	vacuum := fs.Bool("vacuum", true, "PostgreSQL: VACUUM ANALYZE after the load (store.DB.VacuumAnalyze), as autovacuum does by itself soon after one; false: search a table without planner statistics, as on a server with autovacuum off")
	opShare := fs.Float64("operator-share", 0, "also search as an operator who sees this share of the messages (0 < x < 1; e.g. 0.01): their chats wait in a menu only they serve, the rest in another operator's menu; 0: admin only")
	keep := fs.Bool("keep", false, "keep the PostgreSQL database at the end (to EXPLAIN queries in it) and print its name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *messages < 1 || *perChat < 1 || *queries < 1 || *loaders < 1 {
		return errors.New("bench search: --messages, --per-chat, --queries and --loaders must be at least 1")
	}
	if *opShare < 0 || *opShare >= 1 {
		return errors.New("bench search: --operator-share must be 0 (none) or between 0 and 1")
	}
	dsn, where, drop, err := freshDB(ctx, *db)
	if err != nil {
		return err
	}
	if *keep {
		fmt.Fprintf(stdout, "search: keeping %s\n", where)
	} else {
		defer drop()
	}
	srv, err := startBenchServer(ctx, dsn)
	if err != nil {
		return err
	}
	defer stopBenchServer(srv)
	c, err := srv.Companies.Create(ctx, "Search bench", "UTC")
	if err != nil {
		return err
	}
	actx := parley.WithCaller(ctx, parley.Caller{CompanyID: c.ID, CompanyUUID: c.UUID, Role: parley.RoleAdmin})
	// With --operator-share, every chat is handled and finished by one of
	// two operators, as a company's history mostly is: the searching
	// operator for that share of the chats, a colleague for the rest. Each
	// chat comes through the handler's own menu, is taken (assigned) and
	// finished by them; the operator sees their own chats and no other.
	var octx, colleague context.Context
	var ownMenu, otherMenu int64
	if *opShare > 0 {
		maxCapacity := 100
		var ops [2]int64
		for i, login := range []string{"search-op", "search-colleague"} {
			u, err := srv.Users.CreateUser(ctx, c.ID, login, "bench password", parley.RoleOperator)
			if err != nil {
				return fmt.Errorf("bench search: operator: %w", err)
			}
			ops[i] = *u.OperatorID
			oc := parley.WithCaller(ctx, parley.Caller{UserID: u.ID, UserUUID: u.UUID, CompanyID: c.ID, CompanyUUID: c.UUID, Role: parley.RoleOperator})
			if i == 0 {
				octx = oc
			} else {
				colleague = oc
			}
			if _, err := srv.Chats.UpdateOperator(actx, ops[i], chat.OperatorUpdate{Capacity: &maxCapacity}); err != nil {
				return fmt.Errorf("bench search: operator capacity: %w", err)
			}
		}
		for i, id := range ops {
			m, err := srv.Chats.CreateMenu(actx, chat.NewMenu{Name: fmt.Sprintf("menu %d", i), OperatorIDs: []int64{id}})
			if err != nil {
				return fmt.Errorf("bench search: menu: %w", err)
			}
			if i == 0 {
				ownMenu = m.ID
			} else {
				otherMenu = m.ID
			}
		}
	}
	words := vocabulary(20_000)
	zipf := func(r *rand.Rand) *rand.Zipf { return rand.NewZipf(r, 1.1, 1, uint64(len(words)-1)) }
	sentence := func(r *rand.Rand, z *rand.Zipf) string {
		n := 5 + r.IntN(11)
		parts := make([]string, n)
		for i := range parts {
			parts[i] = words[z.Uint64()]
		}
		return strings.Join(parts, " ")
	}

	chats := (*messages + *perChat - 1) / *perChat
	fmt.Fprintf(stdout, "search: loading %d messages in %d chats into %s (%s)\n", *messages, chats, where, srv.DB.Dialect)
	start := time.Now()
	var next, stored atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, *loaders)
	for w := range *loaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			z := zipf(r)
			for {
				i := next.Add(1) - 1
				if i >= int64(chats) || ctx.Err() != nil {
					return
				}
				n := min(*perChat, *messages-int(i)*(*perChat))
				turns := make([]chat.Turn, n)
				for k := range turns {
					sender := chat.SenderEndUser
					if k%2 == 1 {
						sender = chat.SenderOperator
					}
					turns[k] = chat.Turn{SenderType: sender, Content: sentence(r, z)}
				}
				menu, handler := int64(0), context.Context(nil)
				if *opShare > 0 {
					// Spread evenly over the ids, so the operator's
					// chats are as old and as new as everyone's.
					menu, handler = otherMenu, colleague
					if int64(float64(i+1)**opShare) != int64(float64(i)**opShare) {
						menu, handler = ownMenu, octx
					}
				}
				opened, err := srv.Chats.OpenChat(actx, chat.NewChat{EndUser: chat.NewEndUser{Identifier: fmt.Sprintf("bench:%d", i%5000)}, MenuID: menu, Transcript: turns, BulkTranscript: *bulk})
				if err == nil && handler != nil {
					for _, st := range []string{"assigned", "finished"} {
						if _, err = srv.Chats.UpdateChatStatus(handler, opened.Chat.ID, st, nil); err != nil {
							break
						}
					}
				}
				if err != nil {
					errs <- err
					return
				}
				if s := stored.Add(int64(n)); s/100_000 != (s-int64(n))/100_000 {
					fmt.Fprintf(stdout, "  %d messages stored, %.0f/s\n", s, float64(s)/time.Since(start).Seconds())
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return fmt.Errorf("bench search: load: %w", err)
	}
	fmt.Fprintf(stdout, "loaded %d messages in %s (%.0f messages/s)\n", stored.Load(), time.Since(start).Round(time.Second), float64(stored.Load())/time.Since(start).Seconds())

	if *vacuum {
		t0 := time.Now()
		if err := srv.DB.VacuumAnalyze(ctx); err != nil {
			return fmt.Errorf("bench search: %w", err)
		}
		fmt.Fprintf(stdout, "search: VACUUM ANALYZE in %s (PostgreSQL; nothing on SQLite)\n", time.Since(t0).Round(time.Millisecond))
	}
	measure := func(qctx context.Context, who string) (time.Duration, error) {
		r := rand.New(rand.NewPCG(99, 99))
		z := zipf(r)
		var lat []time.Duration
		hits, empty := 0, 0
		digest := fnv.New64a() // of every hit's id in order: runs that load alike (--loaders 1) must agree
		for range *queries {
			ws := strings.Fields(sentence(r, z))
			a := ws[r.IntN(len(ws))]
			b := ws[r.IntN(len(ws))]
			for b == a && len(slices.Compact(slices.Clone(ws))) > 1 {
				b = ws[r.IntN(len(ws))]
			}
			t0 := time.Now()
			res, err := srv.Chats.SearchMessages(qctx, a+" "+b, 0, 20)
			lat = append(lat, time.Since(t0))
			if err != nil {
				return 0, fmt.Errorf("bench search: %s: query %q: %w", who, a+" "+b, err)
			}
			hits += len(res)
			for _, h := range res {
				fmt.Fprintf(digest, "%d,", h.Message.ID)
			}
			fmt.Fprint(digest, ";")
			if len(res) == 0 {
				empty++
			}
		}
		slices.Sort(lat)
		fmt.Fprintf(stdout, "search as %s: %d two-word queries, page of 20, newest first: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms; %.1f hits per query, %d queries without a hit\n",
			who, len(lat), ms(percentile(lat, 0.5)), ms(percentile(lat, 0.9)), ms(percentile(lat, 0.99)), ms(lat[len(lat)-1]), float64(hits)/float64(len(lat)), empty)
		fmt.Fprintf(stdout, "search as %s: digest of the hits %016x\n", who, digest.Sum64())
		return percentile(lat, 0.99), nil
	}
	p99, err := measure(actx, "admin")
	if err != nil {
		return err
	}
	if octx != nil {
		op99, err := measure(octx, fmt.Sprintf("operator seeing %.3g %% of the messages", 100**opShare))
		if err != nil {
			return err
		}
		p99 = max(p99, op99)
	}
	fmt.Fprintf(stdout, "goal: p99 < 100 ms: %v\n", p99 < 100*time.Millisecond)
	return nil
}

// vocabulary makes n distinct pronounceable words, the same on every run.
func vocabulary(n int) []string {
	r := rand.New(rand.NewPCG(1, 2))
	cons, vow := "bcdfghklmnprstvz", "aeiou"
	seen := map[string]bool{}
	out := make([]string, 0, n)
	for len(out) < n {
		var b strings.Builder
		for range 1 + r.IntN(4) {
			b.WriteByte(cons[r.IntN(len(cons))])
			b.WriteByte(vow[r.IntN(len(vow))])
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}
