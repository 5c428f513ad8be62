package sip

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/google/uuid"

	"github.com/parley-cc/parley/internal/dialer"
	"github.com/parley-cc/parley/internal/voice/bridge"
)

// External transfers. Two ways, both through the call's trunk:
//
//   - Bridged: DialTarget calls the target (a number, or a SIP URI with the
//     trunk as outbound proxy) as a second call, and package bridge joins
//     the two calls in Parley. The recording of the first call goes on
//     and holds the second party; Parley stays in the media path until
//     either side hangs up.
//   - Blind, by REFER (RFC 3515): Refer asks the callee's side (the trunk
//     or PBX) to call the target and replace Parley; Parley is out of the
//     call once it succeeds, and the recording stops there. Only trunks
//     that accept REFER can do it.

// ReferError is a transfer by REFER that failed: the REFER itself was
// refused, or the NOTIFY reported the transfer call's final failure.
type ReferError struct {
	Status int    // the SIP status
	Reason string // its reason phrase
	Notify bool   // reported by NOTIFY (the target's answer), not the REFER's response
}

func (e *ReferError) Error() string {
	if e.Notify {
		return fmt.Sprintf("sip: transfer failed: %d %s", e.Status, e.Reason)
	}
	return fmt.Sprintf("sip: REFER refused: %d %s", e.Status, e.Reason)
}

// ErrReferUnfinished is the error of Refer when the subscription ended
// without a final status of the transfer call.
var ErrReferUnfinished = errors.New("sip: transfer ended without a result")

// referProgress is one NOTIFY of a REFER's implicit subscription.
type referProgress struct {
	status     int // the sipfrag's status; 0 if unreadable
	reason     string
	terminated bool // Subscription-State: terminated
}

// ParseTarget parses an external transfer target: a telephone number (dialled
// at the trunk's host) or a sip:/sips: URI.
func (t *Trunk) ParseTarget(target string) (sip.Uri, error) {
	target = strings.TrimSpace(target)
	low := strings.ToLower(target)
	if !strings.HasPrefix(low, "sip:") && !strings.HasPrefix(low, "sips:") {
		user := sanitizeUser(target)
		if user == "" {
			return sip.Uri{}, fmt.Errorf("sip: transfer target %q is neither a number nor a SIP URI", target)
		}
		return sip.Uri{Scheme: "sip", User: user, Host: t.Host, Port: t.Port}, nil
	}
	if len(target) > 512 || strings.ContainsAny(target, "\r\n\x00<> ") {
		return sip.Uri{}, fmt.Errorf("sip: transfer target %q is not a SIP URI", target)
	}
	var u sip.Uri
	if err := sip.ParseUri(target, &u); err != nil || u.Host == "" {
		return sip.Uri{}, fmt.Errorf("sip: transfer target %q is not a SIP URI", target)
	}
	return u, nil
}

// DialTarget calls target (see ParseTarget) through the trunk, for a bridged
// external transfer: a number as Dial does, a SIP URI with the INVITE
// sent to the trunk whatever host the URI names. The call has the
// trunk's defaults for speech; result is as for Dial and err is set for
// failures.
func (t *Trunk) DialTarget(ctx context.Context, target, callUUID string) (*Conn, string, error) {
	u, err := t.ParseTarget(target)
	if err != nil {
		return nil, dialer.ResultFail, err
	}
	return t.dial(ctx, dialer.CallRequest{CallUUID: callUUID, MSISDN: u.User}, &u)
}

// Refer transfers the callee to target (see ParseTarget) by REFER on the
// call's dialog and returns once the callee's side reported the transfer
// call answered (NOTIFY with a 2xx sipfrag): nil, and the caller hangs up
// (Hangup's BYE, unless the callee's side already sent one). A refused
// REFER or a failed transfer call is a *ReferError, and the call goes on
// as before. ctx bounds the wait (the target rings meanwhile).
func (c *Conn) Refer(ctx context.Context, target string) error {
	if c.hungUp() {
		return ErrHungUp
	}
	u, err := c.trunk.ParseTarget(target)
	if err != nil {
		return err
	}
	progress := make(chan referProgress, 16)
	if _, busy := c.trunk.refers.LoadOrStore(c.sess.ID, progress); busy {
		return errors.New("sip: a transfer of this call is in progress")
	}
	defer c.trunk.refers.Delete(c.sess.ID)

	to := c.sess.InviteRequest.Recipient
	if ct := c.sess.InviteResponse.Contact(); ct != nil {
		to = ct.Address
	}
	req := sip.NewRequest(sip.REFER, *to.Clone())
	req.AppendHeader(&sip.ReferToHeader{Address: u})
	if from := c.sess.InviteRequest.From(); from != nil {
		req.AppendHeader(sip.NewHeader("Referred-By", "<"+from.Address.String()+">"))
	}
	res, err := c.sess.Do(ctx, req)
	if err != nil {
		return fmt.Errorf("sip: REFER: %w", err)
	}
	if !res.IsSuccess() {
		return &ReferError{Status: res.StatusCode, Reason: res.Reason}
	}
	for {
		select {
		case p := <-progress:
			switch {
			case p.status >= 200 && p.status < 300:
				return nil
			case p.status >= 300:
				return &ReferError{Status: p.status, Reason: p.reason, Notify: true}
			case p.terminated:
				return ErrReferUnfinished
			}
		case <-ctx.Done():
			return ctx.Err()
		case <-c.Done():
			return ErrHungUp
		}
	}
}

// onNotify answers a NOTIFY in one of the trunk's dialogs and passes a
// REFER's progress to the Refer waiting for it.
func (t *Trunk) onNotify(dialogs *sipgo.DialogClientCache, req *sip.Request, tx sip.ServerTransaction) {
	sess, err := dialogs.MatchRequestDialog(req)
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		return
	}
	_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	v, ok := t.refers.Load(sess.ID)
	if !ok {
		return
	}
	if ev := req.GetHeader("Event"); ev == nil || !strings.HasPrefix(strings.ToLower(strings.TrimSpace(ev.Value())), "refer") {
		return
	}
	p := parseSipfrag(req.Body())
	if st := req.GetHeader("Subscription-State"); st != nil {
		p.terminated = strings.HasPrefix(strings.ToLower(strings.TrimSpace(st.Value())), "terminated")
	}
	select {
	case v.(chan referProgress) <- p:
	default:
	}
}

// parseSipfrag reads the status line of a message/sipfrag body
// ("SIP/2.0 200 OK").
func parseSipfrag(body []byte) referProgress {
	line, _, _ := strings.Cut(string(body), "\n")
	f := strings.Fields(strings.TrimSpace(line))
	if len(f) < 2 || !strings.HasPrefix(strings.ToUpper(f[0]), "SIP/") {
		return referProgress{}
	}
	code, err := strconv.Atoi(f[1])
	if err != nil || code < 100 || code > 699 {
		return referProgress{}
	}
	return referProgress{status: code, reason: strings.Join(f[2:], " ")}
}

// DialExternal calls target over the call's trunk for a bridged external
// transfer (handover.ExternalLine): the second call is the leg, hangup
// ends it (its recording is dropped: the first call's holds both).
func (c *Conn) DialExternal(ctx context.Context, target string) (bridge.Leg, func(), error) {
	other, result, err := c.trunk.DialTarget(ctx, target, uuid.NewString())
	if err != nil {
		return nil, nil, err
	}
	if result != dialer.ResultAnswered || other == nil {
		return nil, nil, fmt.Errorf("sip: transfer target %s: %s", target, result)
	}
	return other, func() {
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, _ = other.Hangup(hctx)
	}, nil
}

// ReferAllowed reports whether the call's trunk transfers by REFER.
func (c *Conn) ReferAllowed() bool { return c.trunk.Refer }
