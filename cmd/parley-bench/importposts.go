package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// postProbe is another tenant of the import benchmark's server: it posts
// chat messages (POST /v1/chats/{id}/messages, a write) at a steady rate,
// so that what one tenant's import does to the others' writes is
// measured: on SQLite every write takes the one write lock in turn.
type postProbe struct {
	client *http.Client
	base   string
	token  string
	chats  []int64
}

// newPostProbe makes the other tenant: a company with an API user and a
// few chats of one end user.
func newPostProbe(ctx context.Context, b *dialogBench) (*postProbe, error) {
	client := newBenchClient(8)
	s, err := setupChatTenant(ctx, b.srv, 4, func(login, password string) (string, error) {
		return benchLogin(ctx, client, b.base, login, password)
	})
	if err != nil {
		return nil, err
	}
	return &postProbe{client: client, base: b.base, token: s.token, chats: s.chats}, nil
}

func (p *postProbe) post(ctx context.Context, chatID int64, i int) error {
	body, _ := json.Marshal(map[string]string{"sender_type": "client", "content": "probe " + strconv.Itoa(i)})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+"/v1/chats/"+strconv.FormatInt(chatID, 10)+"/messages", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 256))
		return fmt.Errorf("status %d: %s", res.StatusCode, msg)
	}
	_, err = io.Copy(io.Discard, res.Body)
	return err
}

// run posts at rate a second (open loop: latency counts from each post's
// intended start) until ctx ends; the returned function waits for the
// posts in flight and gives the sorted latencies.
func (p *postProbe) run(ctx context.Context, rate int) func() probeResult {
	var mu sync.Mutex
	var res probeResult
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		for i := 0; ; i++ {
			at := start.Add(time.Duration(i) * time.Second / time.Duration(rate))
			if !sleepUntil(ctx, at) {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := p.post(context.Background(), p.chats[i%len(p.chats)], i)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					res.errors++
					return
				}
				res.ok = append(res.ok, time.Since(at))
			}()
		}
	}()
	return func() probeResult {
		wg.Wait()
		slices.Sort(res.ok)
		return res
	}
}

// baseline measures the posts for d with the server otherwise idle.
func (p *postProbe) baseline(ctx context.Context, rate int, d time.Duration) probeResult {
	pctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	wait := p.run(pctx, rate)
	<-pctx.Done()
	return wait()
}

func describePosts(label string, r probeResult) string {
	return fmt.Sprintf("%s: %d posts, p50 %.2f ms, p99 %.2f ms, max %.2f ms, errors %d", label, len(r.ok),
		ms(percentile(r.ok, .5)), ms(percentile(r.ok, .99)), ms(percentile(r.ok, 1)), r.errors)
}
