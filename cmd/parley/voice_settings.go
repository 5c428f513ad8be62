package main

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/parley-cc/parley/internal/server"
)

// voiceSettings reads the media network settings from the environment:
// the public address (SIP and WebRTC) and the WebRTC engine's ports and
// limits.
func voiceSettings(cfg *server.Config) error {
	if v := os.Getenv("PARLEY_PUBLIC_IP"); v != "" {
		ip, err := netip.ParseAddr(v)
		if err != nil || ip.IsUnspecified() || ip.Zone() != "" {
			return fmt.Errorf("PARLEY_PUBLIC_IP: want an IP address, got %q", v)
		}
		cfg.PublicIP = ip
	}
	rtc := &cfg.WebRTC
	if v := os.Getenv("PARLEY_RTC_UDP_PORT"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			return fmt.Errorf("PARLEY_RTC_UDP_PORT: want a port 1-65535, got %q", v)
		}
		rtc.UDPPort = p
	}
	if v := os.Getenv("PARLEY_RTC_UDP_PORTS"); v != "" {
		lo, hi, ok := strings.Cut(v, "-")
		min, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
		max, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
		if !ok || err1 != nil || err2 != nil || min < 1 || min > max {
			return fmt.Errorf("PARLEY_RTC_UDP_PORTS: want a range such as 40000-40999, got %q", v)
		}
		if rtc.UDPPort != 0 {
			return fmt.Errorf("PARLEY_RTC_UDP_PORTS and PARLEY_RTC_UDP_PORT: set one of them")
		}
		rtc.PortMin, rtc.PortMax = uint16(min), uint16(max)
	}
	switch v := env("PARLEY_RTC_LOOPBACK", "0"); v {
	case "0", "false":
	case "1", "true":
		if cfg.PublicIP.IsValid() {
			return fmt.Errorf("PARLEY_RTC_LOOPBACK=1 and PARLEY_PUBLIC_IP: loopback candidates would carry the public address")
		}
		rtc.Loopback = true
	default:
		return fmt.Errorf("PARLEY_RTC_LOOPBACK: want 0 or 1, got %q", v)
	}
	if v := os.Getenv("PARLEY_RTC_MAX_PEERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100000 {
			return fmt.Errorf("PARLEY_RTC_MAX_PEERS: want a number from 1 to 100000, got %q", v)
		}
		rtc.MaxPeers = n
	}
	return nil
}
