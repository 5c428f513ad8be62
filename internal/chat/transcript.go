package chat

import (
	"context"
	"strings"
)

// transcriptRows bounds the rows of one INSERT of a bulk transcript (9
// parameters a row: well under either engine's limit).
const transcriptRows = 200

// insertTranscript stores turns as chat c's first messages, as the
// one-by-one path of openChat does (type transcript, seq from 1, the same
// sender_id and created_at, chats.last_seq and updated_at moved on), in
// multi-row INSERTs and without message events (NewChat.BulkTranscript).
func (t *tx) insertTranscript(ctx context.Context, c *Chat, turns []Turn) error {
	if len(turns) == 0 {
		return nil
	}
	var first int
	if err := t.QueryRow(ctx, `UPDATE chats SET last_seq = last_seq + ?, updated_at = ?
		WHERE id = ? AND company_id = ? RETURNING last_seq`, len(turns), t.nowMS(), c.ID, c.CompanyID).Scan(&first); err != nil {
		return err
	}
	first -= len(turns) - 1
	for start := 0; start < len(turns); start += transcriptRows {
		chunk := turns[start:min(start+transcriptRows, len(turns))]
		var b strings.Builder
		b.WriteString(`INSERT INTO chat_messages (company_id, chat_id, seq, sender_type, sender_id, type, content, created_at, uuid) VALUES `)
		args := make([]any, 0, 9*len(chunk))
		for i, turn := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, c.CompanyID, c.ID, first+start+i, turn.SenderType, senderOf(c, nil, turn.SenderType),
				TypeTranscript, turn.Content, t.nowMS(), nil)
		}
		if _, err := t.Exec(ctx, b.String(), args...); err != nil {
			return err
		}
	}
	c.LastSeq = first + len(turns) - 1
	return nil
}
