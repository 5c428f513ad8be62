package main

import (
	"net/netip"
	"testing"

	"github.com/parley-cc/parley/internal/server"
)

// TestVoiceSettings: the media network settings are read and checked;
// a bad value is an error that names the variable.
func TestVoiceSettings(t *testing.T) {
	t.Setenv("PARLEY_PUBLIC_IP", "203.0.113.7")
	t.Setenv("PARLEY_RTC_UDP_PORTS", "40000-40999")
	t.Setenv("PARLEY_RTC_MAX_PEERS", "50")
	var cfg server.Config
	if err := voiceSettings(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.PublicIP != netip.MustParseAddr("203.0.113.7") || cfg.WebRTC.PortMin != 40000 || cfg.WebRTC.PortMax != 40999 ||
		cfg.WebRTC.MaxPeers != 50 || cfg.WebRTC.UDPPort != 0 || cfg.WebRTC.Loopback {
		t.Errorf("settings %+v %+v", cfg.PublicIP, cfg.WebRTC)
	}
	for _, bad := range []map[string]string{
		{"PARLEY_PUBLIC_IP": "example.com"},
		{"PARLEY_PUBLIC_IP": "0.0.0.0"},
		{"PARLEY_RTC_UDP_PORT": "70000"},
		{"PARLEY_RTC_UDP_PORTS": "5000"},
		{"PARLEY_RTC_UDP_PORTS": "6000-5000"},
		{"PARLEY_RTC_UDP_PORTS": "5000-6000", "PARLEY_RTC_UDP_PORT": "7000"},
		{"PARLEY_RTC_LOOPBACK": "yes"},
		{"PARLEY_RTC_LOOPBACK": "1", "PARLEY_PUBLIC_IP": "203.0.113.7"},
		{"PARLEY_RTC_MAX_PEERS": "0"},
	} {
		for _, k := range []string{"PARLEY_PUBLIC_IP", "PARLEY_RTC_UDP_PORT", "PARLEY_RTC_UDP_PORTS", "PARLEY_RTC_LOOPBACK", "PARLEY_RTC_MAX_PEERS"} {
			t.Setenv(k, bad[k])
		}
		if err := voiceSettings(&server.Config{}); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
