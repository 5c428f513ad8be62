package webrtc

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// pionLogs sends pion's logs to slog, a level lower than pion's own:
// pion warns about every lost ICE check and browser quirk, which is
// debugging detail for Parley's operators; its errors become warnings.
type pionLogs struct{ log *slog.Logger }

func (f pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{f.log.With("component", "webrtc", "scope", scope)}
}

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) at(level slog.Level, msg string) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, msg)
	}
}

func (l pionLogger) atf(level slog.Level, format string, args []any) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

func (l pionLogger) Trace(string)                 {}
func (l pionLogger) Tracef(string, ...any)        {}
func (l pionLogger) Debug(string)                 {}
func (l pionLogger) Debugf(string, ...any)        {}
func (l pionLogger) Info(msg string)              { l.at(slog.LevelDebug, msg) }
func (l pionLogger) Infof(f string, args ...any)  { l.atf(slog.LevelDebug, f, args) }
func (l pionLogger) Warn(msg string)              { l.at(slog.LevelDebug, msg) }
func (l pionLogger) Warnf(f string, args ...any)  { l.atf(slog.LevelDebug, f, args) }
func (l pionLogger) Error(msg string)             { l.at(slog.LevelWarn, msg) }
func (l pionLogger) Errorf(f string, args ...any) { l.atf(slog.LevelWarn, f, args) }
