package store

import (
	"strings"
	"unicode"
)

// Full-text search is spelled differently by the two engines; this file is
// where the difference lives. Migration 0016 builds both indexes over
// chat_messages.content: an FTS5 table (chat_messages_fts, rowid = message
// id) on SQLite, a generated tsvector column (search) with a GIN index on
// PostgreSQL. Both fold case and split on everything but letters and
// digits, without stemming, so a query finds the same messages on both.

// MaxSearchWords bounds the words of one query.
const MaxSearchWords = 8

// SearchWords splits a user's query the way both indexes split text:
// lower-cased runs of letters and digits, at most MaxSearchWords of them,
// each at most 64 runes. Everything else (quotes, operators, punctuation)
// is a separator, so no query syntax of either engine reaches it.
func SearchWords(query string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(query), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	}) {
		if r := []rune(w); len(r) > 64 {
			w = string(r[:64])
		}
		out = append(out, w)
		if len(out) == MaxSearchWords {
			break
		}
	}
	return out
}

// MessageSearch is a search of chat_messages for words, as parts of one
// SELECT: From replaces "FROM chat_messages <alias>", Where is a condition
// to AND in (Arg is its one parameter), and Order orders by message id,
// newest first, in the way the engine's index delivers rows.
//
// Window > 0 asks for two passes: first over the company's newest Window
// messages (ids at or above the Window-th newest), ordered by Order; then,
// if that did not fill the page, over the older ones, ordered by
// OrderRest. PostgreSQL needs them: a GIN index finds rare words at once
// but hands back every match of frequent ones unordered, while walking the
// primary key backwards finds frequent words at once but reads the whole
// table for a pair that never occurs. With statistics (autovacuum; see
// VacuumAnalyze) the planner picks between them well within a pass, but
// its estimates of word pairs are guesses, and without statistics every
// pair looks rare. Among the newest messages a walk is bounded;
// past them, OrderRest keeps the planner on the index, where a pair still
// unfound among the newest Window messages is rare. SQLite's FTS5 delivers
// matches newest first from the index itself: one pass.
//
// Scan, when not empty, is Where in a form no index serves (the same
// rows): PostgreSQL's ts_match_vq, the function behind @@. A search among
// a few chats (an operator's sight) reads their messages chat by chat and
// rechecks each (ScanChats), where the GIN index would be scanned again for
// every chat or hand back every match of the company (SearchSightMessages).
type MessageSearch struct {
	From, Where, Order, OrderRest, Scan string
	Arg                                 any
	Window                              int
}

// ScanChats is Scan restricted to the messages of the chats that sub (a
// SELECT of chat ids) selects, read through the (chat_id, seq) index: Arg
// then sub's parameters. ANY(ARRAY(sub)) keeps the planner on that index
// whatever it guesses of the chats' number; a join let it switch to
// reading the whole table once it guessed about 1,000 chats (0.3 to 1.4 s
// a query at 1,000,000 messages).
func (m MessageSearch) ScanChats(alias, sub string) string {
	return m.Scan + " AND " + alias + ".chat_id = ANY(ARRAY(" + sub + "))"
}

// SearchSightMessages is how many messages (the sum of last_seq of the
// chats a caller sees) PostgreSQL searches chat by chat at most
// (MessageSearch.ScanChats) instead of in two passes over the company's
// messages. Measured at 1,000,000 messages of one company
// (docs/benchmarks.md): an operator seeing 10,000 of them waited p99 752
// ms the two-pass way and 10 ms chat by chat; at 50,000 both ways took
// about 55 ms, at 100,000 chat by chat was the slower (120 against 49). A
// variable so that tests take either way.
var SearchSightMessages int64 = 30_000

// SearchWindow is how many of a company's newest messages PostgreSQL's
// first pass walks at most (a variable so that tests reach the second
// pass with a few messages).
var SearchWindow = 20_000

// SearchMessages returns the parts of a search of chat_messages (alias
// alias) for every word of words (from SearchWords, non-empty).
func (db *DB) SearchMessages(alias string, words []string) MessageSearch {
	if db.Dialect == Postgres {
		return MessageSearch{From: "chat_messages " + alias,
			Where: alias + ".search @@ plainto_tsquery('simple', ?)",
			Order: alias + ".id DESC", OrderRest: "(" + alias + ".id + 0) DESC", // + 0: not the primary key's order
			Scan: "ts_match_vq(" + alias + ".search, plainto_tsquery('simple', ?))",
			Arg:  strings.Join(words, " "), Window: SearchWindow}
	}
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = `"` + w + `"` // words hold no quote: SearchWords split on them
	}
	return MessageSearch{From: "chat_messages_fts JOIN chat_messages " + alias + " ON " + alias + ".id = chat_messages_fts.rowid",
		Where: "chat_messages_fts MATCH ?",
		Order: "chat_messages_fts.rowid DESC", Arg: strings.Join(quoted, " ")}
}
