package egress

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"syscall"
)

// Describe turns a failed connection or request into words fit for the
// tenant who named the host: what went wrong, never the address a name
// resolved to (net errors carry it: "dial tcp 10.1.2.3:80: connect:
// connection refused"). Log the error itself for the installation's
// operator.
func Describe(err error) string {
	if err == nil {
		return ""
	}
	var dnsErr *net.DNSError
	var certInvalid x509.CertificateInvalidError
	var unknownAuth x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var tlsRecord tls.RecordHeaderError
	var netErr net.Error
	switch {
	case IsRefused(err):
		return refusedDial.Error()
	case errors.As(err, &dnsErr):
		return "the host name cannot be resolved"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timed out"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by the peer"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "host unreachable"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable"
	case errors.As(err, &hostname):
		return "TLS: the certificate is not valid for this host"
	case errors.As(err, &unknownAuth), errors.As(err, &certInvalid):
		return "TLS: the certificate is not trusted"
	case errors.As(err, &tlsRecord):
		return "TLS: the peer does not speak TLS"
	case errors.Is(err, net.ErrClosed), errors.Is(err, syscall.EPIPE):
		return "connection closed"
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return "connection failed (" + opErr.Op + ")"
	}
	return "connection failed"
}
