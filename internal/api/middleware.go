package api

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley-cc/parley"
)

// Metrics are the HTTP metrics of one server. They live in their own
// registry so that several servers in one test process do not collide.
type Metrics struct {
	Registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewMetrics creates the HTTP metrics and registers the Go runtime ones.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "parley_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
	}
	m.Registry.MustRegister(m.requests, m.latency,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

type statusWriter struct {
	http.ResponseWriter
	info   *RequestInfo
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		// Every family's refusal that says when to retry gets a
		// Retry-After, whatever its body looks like (NoteError kept the
		// error).
		if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
			if d := parley.ErrorRetryAfter(w.info.Err); d > 0 && w.Header().Get("Retry-After") == "" {
				w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
			}
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Observe is the outermost middleware: it assigns the request id, recovers
// panics, logs one line per request and records metrics. Headers and bodies
// are never logged: they carry tokens and passwords.
func Observe(log *slog.Logger, m *Metrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &RequestInfo{ID: newRequestID(r.Header.Get("X-Request-Id"))}
		w.Header().Set("X-Request-Id", ri.ID)
		sw := &statusWriter{ResponseWriter: w, info: ri}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, ri))
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.Error("panic", "request_id", ri.ID, "route", ri.Route, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if sw.status == 0 {
					sw.Header().Set("Content-Type", "application/json")
					sw.WriteHeader(http.StatusInternalServerError)
					_, _ = sw.Write([]byte(`{"message":"Internal error.","code":"internal"}`))
				}
			}
			route := ri.Route
			if route == "" {
				route = "unmatched"
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			elapsed := time.Since(start)
			m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
			m.latency.WithLabelValues(route).Observe(elapsed.Seconds())
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			if !log.Enabled(r.Context(), level) {
				return
			}
			attrs := []slog.Attr{
				slog.String("request_id", ri.ID), slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.String("route", route), slog.Int("status", status), slog.Int("bytes", sw.bytes),
				slog.Duration("duration", elapsed),
			}
			if ri.CompanyID != 0 {
				attrs = append(attrs, slog.Int64("company_id", ri.CompanyID))
			}
			if ri.Err != nil && status >= 500 {
				attrs = append(attrs, slog.String("error", ri.Err.Error()))
			}
			log.LogAttrs(r.Context(), level, "request", attrs...)
		}()
		next.ServeHTTP(sw, r)
	})
}

// DefaultBodyLimit is the largest request body a method takes unless its
// family says otherwise.
const DefaultBodyLimit = 1 << 20

// LimitBody caps the request body; reading past the cap fails with
// *http.MaxBytesError, which Decode reports as ETOOLARGE.
func LimitBody(limit int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}
